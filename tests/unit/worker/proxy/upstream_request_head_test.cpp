// Tests for the proxy's header policy: what goes upstream (hop-by-hop, Connection-named,
// underscore and spoofed forwarding headers out; X-Forwarded-* from the real peer in) and
// which response headers reach the client.
#include "worker/proxy/upstream_request_head.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <string>
#include <vector>

namespace minid::proxy {
namespace {

// A parsed request as the RequestParser would give it (Host also in `host`).
struct TestRequest {
    std::vector<http::Header> headers;
    http::Request req;

    TestRequest(std::string_view method, std::string_view target, std::vector<http::Header> hs)
        : headers(std::move(hs)) {
        req.method_name = method;
        req.target = target;
        req.headers = headers.data();
        req.header_count = static_cast<uint32_t>(headers.size());
        for (const http::Header& h : headers) {
            if (h.name == "Host" || h.name == "host") req.host = h.value;
        }
    }
};

sockaddr_in ipv4(const char* text) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text, &a.sin_addr), 1);
    return a;
}

sockaddr_in6 ipv6(const char* text) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
    return a;
}

std::string build(const TestRequest& t, const ForwardingContext& ctx,
                  std::optional<uint64_t> body_length = std::nullopt) {
    std::string out;
    build_upstream_request_head(t.req, ctx, body_length, out);
    return out;
}

TEST(UpstreamRequestHead, ForwardsTheRequestAndAddsForwardingHeaders) {
    const TestRequest t(
        "GET", "/a/b?c=d%20e",
        {{"Host", "example.com"}, {"Accept", "*/*"}, {"Cookie", "a=b"}, {"Cookie", "c=d"}});
    const sockaddr_in peer = ipv4("192.0.2.7");
    const ForwardingContext ctx{.peer = reinterpret_cast<const sockaddr*>(&peer)};
    EXPECT_EQ(build(t, ctx),
              "GET /a/b?c=d%20e HTTP/1.1\r\n"
              "Host: example.com\r\n"
              "Accept: */*\r\n"
              "Cookie: a=b\r\n"
              "Cookie: c=d\r\n"
              "X-Forwarded-For: 192.0.2.7\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: example.com\r\n"
              "\r\n");
}

TEST(UpstreamRequestHead, AppendsToTheCallersBufferWithoutAllocatingWhenItFits) {
    const TestRequest t("POST", "/x", {{"Host", "h"}});
    const sockaddr_in peer = ipv4("10.0.0.1");
    std::string out = "previous";
    out.reserve(4096);
    const char* const data = out.data();
    build_upstream_request_head(t.req, {.peer = reinterpret_cast<const sockaddr*>(&peer)}, 5, out);
    EXPECT_EQ(out.data(), data);
    EXPECT_EQ(out.rfind("previousPOST /x HTTP/1.1\r\n", 0), 0u);
    EXPECT_NE(out.find("\r\nContent-Length: 5\r\n"), std::string::npos);
}

TEST(UpstreamRequestHead, SpoofedForwardingHeadersAreReplacedForAnUntrustedPeer) {
    const TestRequest t("GET", "/",
                        {{"Host", "real.example"},
                         {"X-Forwarded-For", "1.2.3.4"},
                         {"x-forwarded-for", "5.6.7.8"},
                         {"X-Forwarded-Proto", "https"},
                         {"X-FORWARDED-HOST", "evil.example"},
                         {"Forwarded", "for=1.2.3.4;proto=https"},
                         {"X_Forwarded_Proto", "https"},
                         {"X-Real-IP", "1.2.3.4"}});
    const sockaddr_in peer = ipv4("198.51.100.9");
    const std::string out = build(t, {.peer = reinterpret_cast<const sockaddr*>(&peer)});
    EXPECT_EQ(out,
              "GET / HTTP/1.1\r\n"
              "Host: real.example\r\n"
              "X-Real-IP: 1.2.3.4\r\n"
              "X-Forwarded-For: 198.51.100.9\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: real.example\r\n"
              "\r\n");
}

TEST(UpstreamRequestHead, ATrustedPeersForwardingListIsAppendedTo) {
    const TestRequest t("GET", "/",
                        {{"Host", "h.example"},
                         {"X-Forwarded-For", "203.0.113.1, 10.0.0.2"},
                         {"X-Forwarded-For", "10.0.0.3"},
                         {"X-Forwarded-Proto", "https"},
                         {"Forwarded", "for=203.0.113.1"}});
    const sockaddr_in peer = ipv4("127.0.0.1");
    ForwardingContext ctx{.peer = reinterpret_cast<const sockaddr*>(&peer), .tls = true};
    ctx.peer_trusted = true;
    ctx.add_forwarded = true;
    EXPECT_EQ(build(t, ctx),
              "GET / HTTP/1.1\r\n"
              "Host: h.example\r\n"
              "X-Forwarded-For: 203.0.113.1, 10.0.0.2, 10.0.0.3, 127.0.0.1\r\n"
              "X-Forwarded-Proto: https\r\n"  // this hop's, not the client's claim
              "X-Forwarded-Host: h.example\r\n"
              "Forwarded: for=203.0.113.1, for=127.0.0.1;host=h.example;proto=https\r\n"
              "\r\n");

    ctx.peer_trusted = false;
    const std::string untrusted = build(t, ctx);
    EXPECT_NE(untrusted.find("\r\nX-Forwarded-For: 127.0.0.1\r\n"), std::string::npos);
    EXPECT_NE(untrusted.find("\r\nForwarded: for=127.0.0.1;host=h.example;proto=https\r\n"),
              std::string::npos);
    EXPECT_EQ(untrusted.find("203.0.113.1"), std::string::npos);
}

TEST(UpstreamRequestHead, PeerAddressesOfEveryFamily) {
    const TestRequest t("GET", "/", {{"Host", "h:8080"}});
    const sockaddr_in6 v6 = ipv6("2001:db8::1");
    const sockaddr_in6 mapped = ipv6("::ffff:192.0.2.33");
    sockaddr_un unix_peer{};
    unix_peer.sun_family = AF_UNIX;
    struct Case {
        const sockaddr* peer;
        const char* xff;
        const char* forwarded;
    };
    const Case cases[] = {
        {reinterpret_cast<const sockaddr*>(&v6), "2001:db8::1", "for=\"[2001:db8::1]\""},
        {reinterpret_cast<const sockaddr*>(&mapped), "192.0.2.33", "for=192.0.2.33"},
        {reinterpret_cast<const sockaddr*>(&unix_peer), "unix:", "for=unknown"},
        {nullptr, "unknown", "for=unknown"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.xff);
        ForwardingContext ctx{.peer = c.peer};
        ctx.add_forwarded = true;
        const std::string out = build(t, ctx);
        EXPECT_NE(out.find(std::string("\r\nX-Forwarded-For: ") + c.xff + "\r\n"),
                  std::string::npos)
            << out;
        // host=h:8080 is not a token, so it is quoted.
        EXPECT_NE(out.find(std::string("\r\nForwarded: ") + c.forwarded +
                           ";host=\"h:8080\";proto=http\r\n"),
                  std::string::npos)
            << out;
    }
}

TEST(UpstreamRequestHead, HopByHopAndUnderscoreHeadersAreDropped) {
    const TestRequest t("POST", "/upload",
                        {{"Host", "h"},
                         {"Connection", "keep-alive"},
                         {"Keep-Alive", "timeout=5"},
                         {"Proxy-Connection", "keep-alive"},
                         {"TE", "trailers"},
                         {"Trailer", "X-Sum"},
                         {"Transfer-Encoding", "chunked"},
                         {"Upgrade", "websocket"},
                         {"Proxy-Authorization", "Basic eA=="},
                         {"Expect", "100-continue"},
                         {"Content-Length", "999"},
                         {"X_Custom", "1"},
                         {"_", "1"},
                         {"Authorization", "Bearer t"},
                         {"Content-Type", "text/plain"}});
    const sockaddr_in peer = ipv4("192.0.2.1");
    EXPECT_EQ(build(t, {.peer = reinterpret_cast<const sockaddr*>(&peer)}, 42),
              "POST /upload HTTP/1.1\r\n"
              "Host: h\r\n"
              "Authorization: Bearer t\r\n"
              "Content-Type: text/plain\r\n"
              "X-Forwarded-For: 192.0.2.1\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: h\r\n"
              "Content-Length: 42\r\n"  // the spooled length, not the client's framing
              "\r\n");
}

TEST(UpstreamRequestHead, HeadersNamedInConnectionAreDropped) {
    const TestRequest t("GET", "/",
                        {{"Host", "h"},
                         {"connection", "X-Secret ,  , keep-alive,x-other"},
                         {"CONNECTION", "Cookie"},
                         {"X-Secret", "1"},
                         {"x-SECRET", "2"},
                         {"X-Other", "3"},
                         {"Cookie", "a=b"},
                         {"X-Secret-Not", "kept"},
                         {"Accept", "kept"}});
    const std::string out = build(t, {});
    EXPECT_EQ(out,
              "GET / HTTP/1.1\r\n"
              "Host: h\r\n"
              "X-Secret-Not: kept\r\n"
              "Accept: kept\r\n"
              "X-Forwarded-For: unknown\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: h\r\n"
              "\r\n");
}

TEST(UpstreamRequestHead, ConnectionCannotRemoveHostOrTheProxysOwnHeaders) {
    const TestRequest t(
        "GET", "/",
        {{"Host", "h"}, {"Connection", "Host, X-Forwarded-For, X-Forwarded-Proto, Forwarded"}});
    ForwardingContext ctx{};
    ctx.add_forwarded = true;
    const std::string out = build(t, ctx);
    EXPECT_NE(out.find("\r\nHost: h\r\n"), std::string::npos);
    EXPECT_NE(out.find("\r\nX-Forwarded-For: unknown\r\n"), std::string::npos);
    EXPECT_NE(out.find("\r\nX-Forwarded-Proto: http\r\n"), std::string::npos);
    EXPECT_NE(out.find("\r\nForwarded: for=unknown;host=h;proto=http\r\n"), std::string::npos);
}

TEST(UpstreamRequestHead, UpgradeKeepsUpgradeAndSaysSoInConnection) {
    const TestRequest t("GET", "/ws",
                        {{"Host", "h"},
                         {"Connection", "Upgrade, X-A"},
                         {"Upgrade", "websocket"},
                         {"X-A", "dropped"},
                         {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                         {"Sec-WebSocket-Version", "13"}});
    ForwardingContext ctx{};
    ctx.upgrade = true;
    EXPECT_EQ(build(t, ctx),
              "GET /ws HTTP/1.1\r\n"
              "Host: h\r\n"
              "Upgrade: websocket\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n"
              "X-Forwarded-For: unknown\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: h\r\n"
              "Connection: upgrade\r\n"
              "\r\n");
    ctx.upgrade = false;
    EXPECT_EQ(build(t, ctx).find("Upgrade"), std::string::npos);
}

TEST(UpstreamRequestHead, NoHostMeansNoForwardedHost) {
    TestRequest t("GET", "/", {{"Accept", "*/*"}});
    t.req.version_minor = 0;
    const std::string out = build(t, {});
    EXPECT_EQ(out.find("X-Forwarded-Host"), std::string::npos);
    EXPECT_EQ(out.rfind("GET / HTTP/1.1\r\n", 0), 0u);  // always HTTP/1.1 upstream
}

UpstreamResponseHead response(std::vector<std::pair<std::string, std::string>> headers) {
    UpstreamResponseHead h;
    h.status = 200;
    h.headers = std::move(headers);
    return h;
}

TEST(ResponseHeaderFilter, DropsHopByHopFramingAndConnectionNamedHeaders) {
    const UpstreamResponseHead head = response({{"Connection", "keep-alive, X-Internal"},
                                                {"connection", "SET-COOKIE2"},
                                                {"Content-Type", "text/html"}});
    const ResponseHeaderFilter f(head);
    for (const char* dropped :
         {"Connection", "CONNECTION", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
          "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Content-Length", "content-length",
          "X-Internal", "x-internal", "Set-Cookie2"}) {
        EXPECT_FALSE(f.keep(dropped)) << dropped;
    }
    for (const char* kept : {"Content-Type", "Set-Cookie", "X-Internal-2", "Cache-Control", "ETag",
                             "Location", "Link", "X_Underscore"}) {
        EXPECT_TRUE(f.keep(kept)) << kept;
    }
}

TEST(ResponseHeaderFilter, ManyConnectionFieldsAreAllHonoured) {
    std::vector<std::pair<std::string, std::string>> hs;
    for (int i = 0; i < 10; ++i) hs.emplace_back("Connection", "X-H" + std::to_string(i));
    const UpstreamResponseHead head = response(std::move(hs));
    const ResponseHeaderFilter f(head);
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(f.keep("x-h" + std::to_string(i))) << i;
    EXPECT_TRUE(f.keep("X-H10"));
}

TEST(ResponseHeaderFilter, KeepsUpgradeOnASwitch) {
    UpstreamResponseHead head = response({{"Upgrade", "websocket"}, {"Connection", "Upgrade"}});
    head.status = 101;
    head.upgrade = true;
    const ResponseHeaderFilter f(head);
    EXPECT_TRUE(f.keep("Upgrade"));
    EXPECT_FALSE(f.keep("Connection"));
    EXPECT_TRUE(f.keep("Sec-WebSocket-Accept"));
}

}  // namespace
}  // namespace minid::proxy
