// The header policy of the proxy, both ways: the request head sent upstream (hop-by-hop and
// spoofable headers out, X-Forwarded-* and optionally Forwarded in) and which response
// headers reach the client.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worker/http/request.hpp"
#include "worker/proxy/upstream_response_parser.hpp"

namespace minid::proxy {

// The values of a message's Connection fields, asked whether they list a field name. Holds
// views; a few inline, so that a usual message costs no allocation.
class ConnectionFields {
  public:
    void add(std::string_view value);
    bool lists(std::string_view name) const;

  private:
    std::array<std::string_view, 4> inline_{};
    size_t count_ = 0;
    std::vector<std::string_view> more_;
};

struct ForwardingContext {
    const sockaddr* peer = nullptr;  // the client's address (AF_INET/AF_INET6/AF_UNIX)
    bool tls = false;                // X-Forwarded-Proto: https
    // The caller decides (trusted proxies list); only then are an incoming X-Forwarded-For
    // and Forwarded appended to rather than replaced.
    bool peer_trusted = false;
    bool add_forwarded = false;  // RFC 7239 Forwarded (optional, off by default)
    bool upgrade = false;        // keep Upgrade + "Connection: upgrade" (WebSocket)
};

// Appends to `out` (no allocation when its capacity suffices): the request line (method and
// target as received, HTTP/1.1), then the client's headers in order minus hop-by-hop ones
// (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade unless
// ctx.upgrade, Proxy-Authorization), those named in Connection (never Host), names containing
// '_', Expect and Content-Length; then X-Forwarded-For (the peer, appended to the incoming
// list only when ctx.peer_trusted), X-Forwarded-Proto, X-Forwarded-Host (the Host received),
// Forwarded when ctx.add_forwarded, Content-Length when `body_length` is set (a chunked upload
// goes upstream with its length), "Connection: upgrade" for upgrades, and the empty line.
// An IPv4-mapped IPv6 peer is written as IPv4; a unix socket peer as "unix:" (nginx's
// $remote_addr) and "for=unknown" in Forwarded.
void build_upstream_request_head(const http::Request& req, const ForwardingContext& ctx,
                                 std::optional<uint64_t> body_length, std::string& out);

// Whether a response header is forwarded to the client: not hop-by-hop, not named in the
// response's Connection header, not Content-Length/Transfer-Encoding (the proxy frames the
// response itself). Upgrade is kept on a 101 answer to an upgrade; Connection never is (the
// serializer writes its own). Holds views into `head`, which must outlive the filter.
class ResponseHeaderFilter {
  public:
    explicit ResponseHeaderFilter(const UpstreamResponseHead& head);
    bool keep(std::string_view name) const;

  private:
    ConnectionFields connection_;
    bool upgrade_ = false;
};

}  // namespace minid::proxy
