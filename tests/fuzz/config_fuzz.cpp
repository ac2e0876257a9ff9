// Fuzz target: the minid.conf parser. Any text either parses or yields an error naming the
// origin; a parsed config that passes the per-key checks serializes to canonical text that
// parses back to an equal config and serializes to the same text again (the master hands
// workers exactly this text, so a round-trip failure would make them run other settings).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/config.hpp"
#include "common/config_keys.hpp"
#include "common/config_sites.hpp"
#include "tests/fuzz/fuzz_site.hpp"

namespace {

// validate_config() without its filesystem part (roots must exist): the rules serialize()
// promises exactness for.
bool passes_key_checks(const minid::Config& c) {
    if (c.listen.empty()) return false;
    for (const minid::ConfigKey& k : minid::config_keys()) {
        if (k.check && k.check(k, c)) return false;
    }
    for (const minid::SiteSettings& site : c.sites) {
        for (const minid::SiteKey& k : minid::site_keys()) {
            if (k.check && k.check(k, site)) return false;
        }
    }
    return minid::site_problems(c).empty();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Parse errors are values; keep libFuzzer's output readable.
    minid::log::set_level(minid::log::Level::error);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = minid::parse_config_text(text, "fuzz.conf");
    if (!parsed) {
        const std::string& err = parsed.error();
        MINID_FUZZ_CHECK(!err.empty());
        // Every problem is located: each line of the message starts with the origin.
        size_t start = 0;
        while (start < err.size()) {
            MINID_FUZZ_CHECK(err.compare(start, 10, "fuzz.conf:") == 0);
            const size_t nl = err.find('\n', start);
            if (nl == std::string::npos) break;
            start = nl + 1;
        }
        return 0;
    }
    const minid::Config& c = *parsed;
    if (!passes_key_checks(c)) return 0;
    const std::string text1 = c.serialize();
    auto again = minid::parse_config_text(text1, "serialized");
    if (!again) {
        std::fprintf(stderr, "serialized text:\n%s\nerror: %s\n", text1.c_str(),
                     again.error().c_str());
        minid::fuzz::fail("serialize() output does not parse");
    }
    MINID_FUZZ_CHECK(*again == c);
    MINID_FUZZ_CHECK(again->serialize() == text1);
    return 0;
}
