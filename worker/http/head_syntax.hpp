// Checks on the raw bytes of a request head that llhttp's non-strict build lets through:
// bare CR or LF, obs-fold, control characters, and request-target characters.
#pragma once

#include <string_view>

namespace minid::http {

// `head` is the request line and header section including the final empty line. Returns an
// empty view when the framing is clean, else why it is not (for logs; the status is 400).
std::string_view check_head_framing(std::string_view head) noexcept;

// A request-target may only hold visible ASCII (RFC 9112 3.2); llhttp lets HTAB through.
bool is_valid_target(std::string_view target) noexcept;

}  // namespace minid::http
