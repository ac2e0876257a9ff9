// ListenAddress parsing and formatting. Hosts are numeric only: a listen address must never
// depend on DNS at start or reload time, so "localhost" is the one name accepted.
#include "common/listen_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cctype>

namespace minid {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";
// sun_path holds the path and its terminating NUL.
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;

Error bad(std::string_view text, std::string_view why) {
    std::string m = "invalid listen address '";
    m += text;
    m += "': ";
    m += why;
    return make_error(std::move(m));
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// Returns the port or an error reason; digits only, so "+80" or " 80" are rejected.
Result<uint16_t> parse_port(std::string_view text, std::string_view port) {
    if (port.empty()) return bad(text, "missing port");
    if (!all_digits(port)) return bad(text, "port must be a number from 0 to 65535");
    if (port.size() > 5) return bad(text, "port out of range");
    unsigned value = 0;
    for (char c : port) value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 65535) return bad(text, "port out of range");
    return static_cast<uint16_t>(value);
}

// Canonical numeric text (inet_ntop) so equal addresses compare equal ("0:0::1" == "::1").
template <int Family, typename Addr, size_t Len>
bool canonical_host(const std::string& host, std::string* out) {
    Addr addr{};
    if (inet_pton(Family, host.c_str(), &addr) != 1) return false;
    char buf[Len];
    if (inet_ntop(Family, &addr, buf, sizeof buf) == nullptr) return false;
    *out = buf;
    return true;
}

Result<ListenAddress> parse_unix(std::string_view text) {
    std::string_view path = text.substr(kUnixPrefix.size());
    if (path.empty() || path.front() != '/')
        return bad(text, "unix socket path must be absolute, e.g. unix:/run/minid/http.sock");
    if (path.size() > kMaxUnixPath)
        return bad(text,
                   "unix socket path is longer than " + std::to_string(kMaxUnixPath) + " bytes");
    for (char c : path) {
        // Whitespace would split the address in a config file's listen list.
        if (std::isspace(static_cast<unsigned char>(c)) ||
            std::iscntrl(static_cast<unsigned char>(c)))
            return bad(text, "unix socket path must not contain whitespace or control characters");
    }
    ListenAddress a;
    a.kind = ListenAddress::Kind::unix_path;
    a.host = std::string(path);
    return a;
}

Result<ListenAddress> parse_inet6(std::string_view text) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return bad(text, "missing ']' after the IPv6 address");
    ListenAddress a;
    a.kind = ListenAddress::Kind::inet6;
    const std::string host(text.substr(1, close - 1));
    if (!canonical_host<AF_INET6, in6_addr, INET6_ADDRSTRLEN>(host, &a.host))
        return bad(text, "'" + host + "' is not a numeric IPv6 address");
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return bad(text, "missing port, e.g. [" + host + "]:8080");
    if (rest.front() != ':') return bad(text, "expected ':PORT' after ']'");
    auto port = parse_port(text, rest.substr(1));
    if (!port) return make_error(port.error());
    a.port = *port;
    return a;
}

}  // namespace

std::string ListenAddress::to_string() const {
    switch (kind) {
        case Kind::inet:
            return host + ":" + std::to_string(port);
        case Kind::inet6:
            return "[" + host + "]:" + std::to_string(port);
        case Kind::unix_path:
            return std::string(kUnixPrefix) + host;
    }
    return host;
}

Result<ListenAddress> ListenAddress::parse(std::string_view text) {
    if (text.empty()) return bad(text, "empty address");
    if (text.starts_with(kUnixPrefix)) return parse_unix(text);
    if (text.front() == '[') return parse_inet6(text);

    ListenAddress a;
    a.kind = Kind::inet;
    if (all_digits(text)) {
        auto port = parse_port(text, text);
        if (!port) return make_error(port.error());
        a.host = "0.0.0.0";
        a.port = *port;
        return a;
    }
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
        return bad(text, "missing port, e.g. " + std::string(text) + ":8080");
    // Port first: "x:99999" is reported for its port, the more likely typo.
    auto port = parse_port(text, text.substr(colon + 1));
    if (!port) return make_error(port.error());
    a.port = *port;
    const std::string host(text.substr(0, colon));
    if (host.find(':') != std::string::npos)
        return bad(text, "put IPv6 addresses in brackets, e.g. [::1]:8080");
    if (host == "*") {
        a.host = "0.0.0.0";
    } else if (host == "localhost") {
        a.host = "127.0.0.1";
    } else if (!canonical_host<AF_INET, in_addr, INET_ADDRSTRLEN>(host, &a.host)) {
        return bad(text,
                   "host must be a numeric IPv4 address, [IPv6], '*' or 'localhost' "
                   "(no DNS lookups)");
    }
    return a;
}

}  // namespace minid
