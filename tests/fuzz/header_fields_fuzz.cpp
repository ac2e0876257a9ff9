// Fuzz target: the parsers of the header fields a static file request may carry — Range,
// If-None-Match, If-Modified-Since, If-Range — and HTTP dates and entity tags.
// Input: newline-separated "size\nmtime\nRange\nIf-None-Match\nIf-Modified-Since\nIf-Range";
// missing lines are absent fields. Each field is copied to a buffer of its exact length so
// ASan sees any read past it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_site.hpp"
#include "worker/http/ascii.hpp"
#include "worker/http/conditional.hpp"
#include "worker/http/etag.hpp"
#include "worker/http/http_date.hpp"
#include "worker/http/range.hpp"

namespace {

using namespace minid::http;

// An exactly sized copy of one field; a null view (absent) when the line is missing.
class Field {
  public:
    Field() = default;
    explicit Field(std::string_view s) : bytes_(new char[s.size() + 1]), size_(s.size()) {
        if (!s.empty()) std::memcpy(bytes_.get(), s.data(), s.size());
    }
    std::string_view view() const {
        return bytes_ ? std::string_view(bytes_.get(), size_) : std::string_view{};
    }

  private:
    std::unique_ptr<char[]> bytes_;
    size_t size_ = 0;
};

// Parses a signed decimal, saturating; false if not a number.
bool parse_signed(std::string_view s, int64_t* out) {
    bool neg = false;
    if (!s.empty() && s[0] == '-') {
        neg = true;
        s.remove_prefix(1);
    }
    uint64_t v = 0;
    if (!ascii::parse_decimal(s, &v)) return false;
    constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
    if (v > kMax) v = kMax;
    *out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    return true;
}

// Years 0..9999 are what an HTTP date can spell.
constexpr int64_t kFirstDate = -62167219200;  // 0000-01-01T00:00:00Z
constexpr int64_t kLastDate = 253402300799;   // 9999-12-31T23:59:59Z

std::string format(std::time_t t) {
    char out[kHttpDateLength];
    format_http_date(t, out);
    return std::string(out, sizeof out);
}

void check_date_text(std::string_view text) {
    const auto t = parse_http_date(text);
    if (!t) return;
    MINID_FUZZ_CHECK(*t >= kFirstDate && *t <= kLastDate);
    const std::string again = format(*t);
    MINID_FUZZ_CHECK(parse_http_date(again) == t);
}

void check_range(std::string_view header, uint64_t size) {
    const RangeDecision d = decide_range(header, size);
    switch (d.kind) {
        case RangeDecision::Kind::full:
            break;
        case RangeDecision::Kind::partial:
            MINID_FUZZ_CHECK(size > 0 && d.first <= d.last && d.last < size);
            break;
        case RangeDecision::Kind::unsatisfiable:
            break;
    }
    // Only the "bytes" unit is understood; anything else must be ignored.
    const std::string_view t = ascii::trim_ows(header);
    if (t.size() < 6 || !ascii::iequals(t.substr(0, 6), "bytes="))
        MINID_FUZZ_CHECK(d.kind == RangeDecision::Kind::full);
    // A satisfiable single range stays the same when the client lists it twice with empty
    // elements around it... but two real ranges are ignored.
    if (d.kind == RangeDecision::Kind::partial && header.find(',') == std::string_view::npos) {
        const std::string doubled = std::string(header) + "," + std::string(t.substr(6));
        MINID_FUZZ_CHECK(decide_range(doubled, size).kind == RangeDecision::Kind::full);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    Field fields[6];
    for (size_t i = 0; i < 6 && in.data() != nullptr; ++i) {
        const size_t nl = in.find('\n');
        fields[i] = Field(in.substr(0, nl));
        in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    }
    uint64_t file_size = 0;
    if (!ascii::parse_decimal(fields[0].view(), &file_size)) file_size = fields[0].view().size();
    int64_t mtime64 = 0;
    if (!parse_signed(fields[1].view(), &mtime64)) mtime64 = 784111777;
    const auto mtime = static_cast<std::time_t>(mtime64);
    const std::string_view range = fields[2].view();
    const std::string_view inm = fields[3].view();
    const std::string_view ims = fields[4].view();
    const std::string_view if_range = fields[5].view();

    // Formatting any time is safe and has the fixed shape.
    const std::string date = format(mtime);
    MINID_FUZZ_CHECK(date.size() == kHttpDateLength && date[3] == ',' &&
                     date.compare(25, 4, " GMT") == 0);
    if (mtime64 >= kFirstDate && mtime64 <= kLastDate) {
        MINID_FUZZ_CHECK(parse_http_date(date) == mtime);
        // A client echoing Last-Modified is not sent the body again.
        MINID_FUZZ_CHECK(is_not_modified({}, date, "\"x\"", mtime));
        MINID_FUZZ_CHECK(if_range_allows(date, "\"x\"", mtime));
    }

    const std::string etag = make_etag(mtime, file_size);
    MINID_FUZZ_CHECK(if_none_match_matches(etag, etag));
    MINID_FUZZ_CHECK(if_none_match_matches("W/" + etag, etag));
    MINID_FUZZ_CHECK(etag_strong_equal(etag, etag));
    MINID_FUZZ_CHECK(!etag_strong_equal("W/" + etag, etag));
    MINID_FUZZ_CHECK(if_range_allows(etag, etag, mtime));

    check_range(range, file_size);
    check_date_text(ims);
    check_date_text(if_range);

    const bool nm = is_not_modified(inm, ims, etag, mtime);
    if (inm.data() != nullptr && !ascii::trim_ows(inm).empty()) {
        MINID_FUZZ_CHECK(nm == if_none_match_matches(inm, etag));
    } else if (const auto since = parse_http_date(ascii::trim_ows(ims))) {
        MINID_FUZZ_CHECK(nm == (mtime <= *since));
    } else {
        MINID_FUZZ_CHECK(!nm);
    }
    // "*" matches any current representation, whatever else surrounds it with OWS.
    MINID_FUZZ_CHECK(if_none_match_matches(" * ", etag));

    // Strong comparison is symmetric and implies weak matching.
    const bool se = etag_strong_equal(inm, if_range);
    MINID_FUZZ_CHECK(se == etag_strong_equal(if_range, inm));
    if (se) MINID_FUZZ_CHECK(if_none_match_matches(inm, std::string(if_range)));
    if (etag_strong_equal(inm, etag)) MINID_FUZZ_CHECK(if_none_match_matches(inm, etag));

    (void)if_range_allows(if_range, etag, mtime);
    (void)if_none_match_matches(inm, if_range);
    return 0;
}
