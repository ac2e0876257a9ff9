// The proxy's header policy: one pass over the client's headers into the caller's buffer, with
// addresses and numbers formatted on the stack.
#include "worker/proxy/upstream_request_head.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include "worker/http/ascii.hpp"
#include "worker/proxy/list_elements.hpp"

namespace minid::proxy {

namespace {

namespace ascii = http::ascii;

// Hop-by-hop in both directions (RFC 9110 7.6.1, and the older ones RFC 2616 13.5.1 named).
constexpr std::string_view kHopByHop[] = {
    "connection", "keep-alive",        "proxy-connection",    "te",
    "trailer",    "transfer-encoding", "proxy-authorization", "proxy-authenticate",
};

// Headers of the client's that the proxy writes itself (or drops: Expect is answered here).
constexpr std::string_view kReplaced[] = {
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded",
    "expect",          "content-length",
};

template <size_t N>
bool is_one_of(std::string_view name, const std::string_view (&names)[N]) {
    for (std::string_view n : names) {
        if (ascii::iequals(name, n)) return true;
    }
    return false;
}

// The peer's address as X-Forwarded-For writes it; empty for none. `buf` holds the text.
std::string_view peer_text(const sockaddr* peer, char (&buf)[INET6_ADDRSTRLEN]) {
    if (peer == nullptr) return {};
    if (peer->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(peer);
        if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == nullptr) return {};
        return buf;
    }
    if (peer->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(peer);
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; apps expect a.b.c.d.
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            if (inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf) == nullptr) {
                return {};
            }
        } else if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf) == nullptr) {
            return {};
        }
        return buf;
    }
    if (peer->sa_family == AF_UNIX) return "unix:";
    return {};
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

// The incoming values of `name`, joined into one list, followed by ", " (nothing if none).
void append_incoming_list(std::string& out, const http::Request& req, std::string_view name) {
    for (uint32_t i = 0; i < req.header_count; ++i) {
        const http::Header& h = req.headers[i];
        if (!ascii::iequals(h.name, name) || h.value.empty()) continue;
        out.append(h.value);
        out.append(", ");
    }
}

// One RFC 7239 forwarded-element for this hop; quoted-string where the syntax needs it.
void append_forwarded_element(std::string& out, const ForwardingContext& ctx, std::string_view peer,
                              std::string_view host) {
    out.append("for=");
    if (peer.empty() || peer == "unix:") {
        out.append("unknown");
    } else if (peer.find(':') != std::string_view::npos) {  // IPv6: quoted and bracketed
        out.append("\"[");
        out.append(peer);
        out.append("]\"");
    } else {
        out.append(peer);
    }
    if (!host.empty()) {
        // A Host is a token except for the ':' of a port, and an IPv6 literal's brackets.
        const bool token = ascii::is_token(host);
        out.append(";host=");
        if (!token) out.push_back('"');
        for (char c : host) {
            if (c == '"' || c == '\\') out.push_back('\\');
            out.push_back(c);
        }
        if (!token) out.push_back('"');
    }
    out.append(ctx.tls ? ";proto=https" : ";proto=http");
}

}  // namespace

void ConnectionFields::add(std::string_view value) {
    if (count_ < inline_.size()) {
        inline_[count_++] = value;
    } else {
        more_.push_back(value);
    }
}

bool ConnectionFields::lists(std::string_view name) const {
    auto in = [name](std::string_view value) {
        bool found = false;
        for_each_list_element(value, [&](std::string_view token) {
            if (ascii::iequals(token, name)) found = true;
        });
        return found;
    };
    for (size_t i = 0; i < count_; ++i) {
        if (in(inline_[i])) return true;
    }
    for (std::string_view v : more_) {
        if (in(v)) return true;
    }
    return false;
}

void build_upstream_request_head(const http::Request& req, const ForwardingContext& ctx,
                                 std::optional<uint64_t> body_length, std::string& out) {
    ConnectionFields connection;
    for (uint32_t i = 0; i < req.header_count; ++i) {
        if (ascii::iequals(req.headers[i].name, "connection")) connection.add(req.headers[i].value);
    }

    out.append(req.method_name);
    out.push_back(' ');
    out.append(req.target);
    out.append(" HTTP/1.1\r\n");
    for (uint32_t i = 0; i < req.header_count; ++i) {
        const http::Header& h = req.headers[i];
        const std::string_view name = h.name;
        if (ascii::iequals(name, "host")) {
            // Forwarded as received, even if Connection names it: the upstream needs it.
            append_field(out, name, h.value);
            continue;
        }
        // Header names with '_' are dropped: apps that map '-' to '_' (CGI, WSGI) would let
        // X_Forwarded_For stand in for X-Forwarded-For.
        if (name.find('_') != std::string_view::npos) continue;
        if (is_one_of(name, kHopByHop) || is_one_of(name, kReplaced)) continue;
        if (ascii::iequals(name, "upgrade")) {
            if (ctx.upgrade) append_field(out, name, h.value);
            continue;
        }
        if (connection.lists(name)) continue;
        append_field(out, name, h.value);
    }

    char addr[INET6_ADDRSTRLEN];
    const std::string_view peer = peer_text(ctx.peer, addr);
    out.append("X-Forwarded-For: ");
    if (ctx.peer_trusted) append_incoming_list(out, req, "x-forwarded-for");
    out.append(peer.empty() ? std::string_view("unknown") : peer);
    out.append("\r\n");
    append_field(out, "X-Forwarded-Proto", ctx.tls ? "https" : "http");
    if (!req.host.empty()) append_field(out, "X-Forwarded-Host", req.host);
    if (ctx.add_forwarded) {
        out.append("Forwarded: ");
        if (ctx.peer_trusted) append_incoming_list(out, req, "forwarded");
        append_forwarded_element(out, ctx, peer, req.host);
        out.append("\r\n");
    }
    if (body_length) {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, *body_length);
        (void)ec;  // 24 digits hold any uint64_t
        append_field(out, "Content-Length",
                     std::string_view(digits, static_cast<size_t>(end - digits)));
    }
    if (ctx.upgrade) out.append("Connection: upgrade\r\n");
    out.append("\r\n");
}

ResponseHeaderFilter::ResponseHeaderFilter(const UpstreamResponseHead& head)
    : upgrade_(head.upgrade) {
    for (const auto& [name, value] : head.headers) {
        if (ascii::iequals(name, "connection")) connection_.add(value);
    }
}

bool ResponseHeaderFilter::keep(std::string_view name) const {
    if (is_one_of(name, kHopByHop)) return false;
    if (ascii::iequals(name, "content-length")) return false;
    if (ascii::iequals(name, "upgrade")) return upgrade_;
    return !connection_.lists(name);
}

}  // namespace minid::proxy
