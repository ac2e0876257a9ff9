// Range requests (RFC 9110 14.2): a single byte range is honoured; anything else is ignored.
#pragma once

#include <cstdint>
#include <string_view>

namespace minid::http {

struct RangeDecision {
    enum class Kind : uint8_t {
        full,           // ignore the header: serve 200 with the whole representation
        partial,        // 206 for [first, last]
        unsatisfiable,  // 416 with "Content-Range: bytes */size"
    };
    Kind kind = Kind::full;
    uint64_t first = 0;
    uint64_t last = 0;  // inclusive
};

// Evaluates a Range header against a representation of `size` bytes. Syntax errors, units
// other than "bytes" and multiple ranges give Kind::full (multipart answers are not worth
// their complexity for a static server; ignoring Range is always allowed).
RangeDecision decide_range(std::string_view header, uint64_t size) noexcept;

}  // namespace minid::http
