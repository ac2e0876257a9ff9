// Host pattern syntax: DNS-style labels (RFC 1123, plus '_', which real host names carry), a
// leading "*." wildcard, or a bracketed IPv6 literal as it appears in a Host header.
#include "common/host_pattern.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace minid {
namespace {

constexpr size_t kMaxName = 253;
constexpr size_t kMaxLabel = 63;
constexpr std::string_view kNoPort =
    "a port is not part of a host pattern (a site answers on every listen address)";

bool label_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

std::optional<std::string> name_problem(std::string_view name) {
    if (name.size() > kMaxName) return "is longer than 253 characters";
    size_t start = 0;
    for (;;) {
        const size_t dot = name.find('.', start);
        const std::string_view label = name.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty()) return std::string("has an empty label (\"..\" or a leading dot)");
        if (label.size() > kMaxLabel) return std::string("has a label longer than 63 characters");
        for (char c : label) {
            if (label_char(c)) continue;
            if (c == ':') return std::string(kNoPort);
            if (c == '*')
                return std::string(
                    "'*' is allowed only as the whole first label, as in "
                    "*.example.com");
            return std::string("contains '") + c +
                   "'; a host name has letters, digits, '-', '_' and dots";
        }
        if (dot == std::string_view::npos) return std::nullopt;
        start = dot + 1;
    }
}

std::optional<std::string> pattern_problem(std::string_view p) {
    if (p.empty()) return std::string("is empty");
    if (p == "*")
        return std::string(
            "a lone '*' is not a pattern; to catch every other host, make the "
            "site the default (default = on)");
    if (p.find("://") != std::string_view::npos)
        return std::string("write the host name alone, without a scheme or a path");
    if (p.front() == '[') {
        const size_t close = p.find(']');
        if (close != std::string_view::npos && close + 1 < p.size() && p[close + 1] == ':')
            return std::string(kNoPort);
        in6_addr addr{};
        const std::string inner(p.substr(1, close == std::string_view::npos ? 0 : close - 1));
        if (close != p.size() - 1 || ::inet_pton(AF_INET6, inner.c_str(), &addr) != 1)
            return std::string("is not an IPv6 address in brackets such as [::1]");
        return std::nullopt;
    }
    if (is_wildcard_pattern(p)) return name_problem(p.substr(2));
    return name_problem(p);
}

}  // namespace

Result<std::string> parse_host_pattern(std::string_view text) {
    std::string p(text);
    std::transform(p.begin(), p.end(), p.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // "example.com." is the same name written fully qualified; a request's Host is compared
    // without its trailing dot too.
    if (p.size() > 1 && p.back() == '.' && p.front() != '[') p.pop_back();
    if (auto why = pattern_problem(p)) return make_error(std::move(*why));
    return p;
}

std::optional<std::string> host_pattern_problem(std::string_view pattern) {
    if (std::any_of(pattern.begin(), pattern.end(),
                    [](unsigned char c) { return std::isupper(c) != 0; }))
        return std::string("must be lower case");
    if (pattern.size() > 1 && pattern.back() == '.' && pattern.front() != '[')
        return std::string("must not end with a dot");
    return pattern_problem(pattern);
}

}  // namespace minid
