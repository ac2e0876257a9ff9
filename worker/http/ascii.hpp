// ASCII helpers for HTTP syntax (RFC 9110): character classes, case-insensitive comparison,
// whitespace trimming. Header-only because every caller is on the per-request path.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/http_token.hpp"

namespace minid::http::ascii {

constexpr char to_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    }
    return true;
}

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// Value of a hex digit, or -1.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// tchar from RFC 9110 5.6.2: the characters of a token (method, field name, coding).
constexpr bool is_tchar(char ch) noexcept {
    return is_http_tchar(ch);
}

constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        if (!is_tchar(c)) return false;
    }
    return true;
}

// field-vchar / SP / HTAB: what may appear inside a field value (obs-text included).
constexpr bool is_field_value_char(char ch) noexcept {
    const auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

constexpr bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}

constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

// Parses a non-empty run of decimal digits (the whole of `s`). Values beyond uint64 saturate
// so that "bytes=99999999999999999999-" is a large number rather than a syntax error.
constexpr bool parse_decimal(std::string_view s, uint64_t* out) noexcept {
    if (s.empty()) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return false;
        const auto d = static_cast<uint64_t>(c - '0');
        v = (v > (UINT64_MAX - d) / 10) ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return true;
}

}  // namespace minid::http::ascii
