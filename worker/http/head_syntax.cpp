// Raw request-head checks: one pass over the bytes, no allocation.
#include "worker/http/head_syntax.hpp"

namespace minid::http {

std::string_view check_head_framing(std::string_view head) noexcept {
    const size_t n = head.size();
    if (n < 4 || head.substr(n - 4) != "\r\n\r\n") return "head does not end with CRLF CRLF";
    for (size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(head[i]);
        if (c >= 0x20 && c != 0x7f) continue;
        if (c == '\r') {
            if (i + 1 >= n || head[i + 1] != '\n') return "bare CR in request head";
        } else if (c == '\n') {
            if (i == 0 || head[i - 1] != '\r') return "bare LF in request head";
            if (i + 1 < n && (head[i + 1] == ' ' || head[i + 1] == '\t')) {
                return "obsolete line folding in request head";
            }
        } else if (c != '\t') {
            return "control character in request head";
        }
    }
    return {};
}

bool is_valid_target(std::string_view target) noexcept {
    if (target.empty()) return false;
    for (char ch : target) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f) return false;
    }
    return true;
}

}  // namespace minid::http
