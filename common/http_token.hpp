// is_http_tchar: the characters of an HTTP token (RFC 9110 5.6.2), shared by the HTTP parser and
// the config's server_name check so the two can never disagree.
#pragma once

namespace minid {

constexpr bool is_http_tchar(char ch) noexcept {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= '0' && c <= '9') return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

}  // namespace minid
