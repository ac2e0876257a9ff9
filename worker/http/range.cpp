// Range header parsing: "bytes=a-b", "bytes=a-", "bytes=-n" with OWS around list commas.
#include "worker/http/range.hpp"

#include "worker/http/ascii.hpp"

namespace minid::http {

RangeDecision decide_range(std::string_view header, uint64_t size) noexcept {
    const RangeDecision full{};
    header = ascii::trim_ows(header);
    const size_t eq = header.find('=');
    if (eq == std::string_view::npos || !ascii::iequals(header.substr(0, eq), "bytes")) return full;
    std::string_view set = header.substr(eq + 1);

    // range-set = 1#range-spec; empty list elements are allowed, more than one spec is not.
    std::string_view spec;
    while (!set.empty()) {
        const size_t comma = set.find(',');
        const std::string_view item = ascii::trim_ows(set.substr(0, comma));
        set = comma == std::string_view::npos ? std::string_view{} : set.substr(comma + 1);
        if (item.empty()) continue;
        if (!spec.empty()) return full;  // multiple ranges
        spec = item;
    }
    const size_t dash = spec.find('-');
    if (spec.empty() || dash == std::string_view::npos) return full;
    const std::string_view a = spec.substr(0, dash);
    const std::string_view b = spec.substr(dash + 1);

    RangeDecision d;
    if (a.empty()) {
        // suffix-range: the last n bytes; "-0" (or any suffix of an empty file) selects nothing.
        uint64_t n = 0;
        if (!ascii::parse_decimal(b, &n)) return full;
        if (n == 0 || size == 0) return {RangeDecision::Kind::unsatisfiable, 0, 0};
        d.first = n >= size ? 0 : size - n;
        d.last = size - 1;
        d.kind = RangeDecision::Kind::partial;
        return d;
    }
    uint64_t first = 0;
    if (!ascii::parse_decimal(a, &first)) return full;
    uint64_t last = UINT64_MAX;
    if (!b.empty()) {
        if (!ascii::parse_decimal(b, &last)) return full;
        if (last < first) return full;  // invalid range-spec: the header is ignored
    }
    if (first >= size) return {RangeDecision::Kind::unsatisfiable, 0, 0};
    d.first = first;
    d.last = last >= size ? size - 1 : last;
    d.kind = RangeDecision::Kind::partial;
    return d;
}

}  // namespace minid::http
