// Entity-tag formatting and list matching.
#include "worker/http/etag.hpp"

#include <charconv>

#include "worker/http/ascii.hpp"

namespace minid::http {

std::string make_etag(std::time_t mtime, uint64_t size) {
    std::string out;
    out.reserve(2 + 16 + 1 + 16);
    char hex[16];
    out.push_back('"');
    // Like nginx, the time is printed as an unsigned number (pre-1970 files stay distinct).
    auto r = std::to_chars(hex, hex + sizeof hex, static_cast<uint64_t>(mtime), 16);
    out.append(hex, r.ptr);
    out.push_back('-');
    r = std::to_chars(hex, hex + sizeof hex, size, 16);
    out.append(hex, r.ptr);
    out.push_back('"');
    return out;
}

namespace {

// The opaque-tag of an entity-tag (with its quotes), and whether it was weak.
struct Tag {
    std::string_view opaque;
    bool weak = false;
};

// Parses one entity-tag at the front of `s`, moving past it. False if malformed.
bool next_tag(std::string_view& s, Tag* out) noexcept {
    out->weak = false;
    if (s.substr(0, 2) == "W/") {
        out->weak = true;
        s.remove_prefix(2);
    }
    if (s.empty() || s.front() != '"') return false;
    const size_t close = s.find('"', 1);
    if (close == std::string_view::npos) return false;
    for (size_t i = 1; i < close; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c <= 0x20 || c == 0x7f) return false;  // etagc excludes SP, CTLs and DQUOTE
    }
    out->opaque = s.substr(0, close + 1);
    s.remove_prefix(close + 1);
    return true;
}

}  // namespace

bool if_none_match_matches(std::string_view header, std::string_view etag) noexcept {
    header = ascii::trim_ows(header);
    if (header == "*") return true;
    std::string_view ours = etag;
    if (ours.substr(0, 2) == "W/") ours.remove_prefix(2);
    while (!header.empty()) {
        if (header.front() == ',' || ascii::is_ows(header.front())) {
            header.remove_prefix(1);
            continue;
        }
        Tag t;
        if (!next_tag(header, &t)) return false;
        if (t.opaque == ours) return true;
        header = ascii::trim_ows(header);
        if (!header.empty() && header.front() != ',') return false;
    }
    return false;
}

bool etag_strong_equal(std::string_view a, std::string_view b) noexcept {
    Tag ta, tb;
    if (!next_tag(a, &ta) || !a.empty() || !next_tag(b, &tb) || !b.empty()) return false;
    return !ta.weak && !tb.weak && ta.opaque == tb.opaque;
}

}  // namespace minid::http
