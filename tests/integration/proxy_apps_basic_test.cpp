// The reverse proxy with real apps: tests/apps/app.py under Debian's gunicorn (over a unix socket)
// and waitress (over TCP) behind the real minid: GET, POST, chunked uploads, the header policy as
// the app sees it, proxy_fallback, and server-sent events streamed as they come.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/harness.hpp"
#include "integration/proxy_apps_harness.hpp"

namespace minid::test {
namespace {

using json = nlohmann::json;

std::optional<HttpResponse> request(uint16_t port, const std::string& head,
                                    const std::string& body = "") {
    Client c(port);
    if (!c.connected() || !c.send(head + body)) return std::nullopt;
    auto r = c.read_responses(1, 10s);
    if (r.empty()) return std::nullopt;
    return r[0];
}

json echo(uint16_t port, const std::string& extra_headers, const std::string& body = "") {
    auto r = request(
        port,
        "POST /echo HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n" + extra_headers + "\r\n",
        body);
    if (!r || r->status != 200) return json{};
    return json::parse(r->body, nullptr, false);
}

// GET, POST and what the app sees of the request head, through minid to `app_address`.
void check_exchanges(uint16_t port, const ProxySetup& setup, const std::string& app_address) {
    auto hello = http_get(port, "/hello");
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->status, 200);
    EXPECT_EQ(hello->body, "Hello, world!");

    const std::string upload(100 * 1024, 'u');
    auto post = request(port,
                        "POST /post?id=first HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n"
                        "Content-Length: " +
                            std::to_string(upload.size()) + "\r\n\r\n",
                        upload);
    ASSERT_TRUE(post.has_value());
    EXPECT_EQ(post->status, 200) << post->body;
    EXPECT_NE(post->body.find("\"body_length\": 102400"), std::string::npos) << post->body;

    // A chunked upload reaches the app with Content-Length (request buffering).
    auto chunked =
        echo(port, "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    ASSERT_TRUE(chunked.is_object()) << "no JSON from /echo for a chunked upload";
    EXPECT_EQ(chunked["body_length"], 11);
    EXPECT_EQ(chunked["headers"].value("content-length", ""), "11");
    EXPECT_FALSE(chunked["headers"].contains("transfer-encoding"));

    // Header policy: spoofed X-Forwarded-* replaced, underscore names and hop-by-hop headers
    // (and those named in Connection) dropped, Host forwarded as received.
    auto seen = echo(port,
                     "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
                     "X-Forwarded-Host: evil.test\r\nX_Custom_Name: underscore\r\n"
                     "Keep-Alive: timeout=5\r\nX-Hop: drop-me\r\nConnection: close, X-Hop\r\n"
                     "X-Kept: yes\r\n");
    ASSERT_TRUE(seen.is_object()) << "no JSON from /echo";
    const auto& h = seen["headers"];
    EXPECT_EQ(h.value("x-forwarded-for", ""), "127.0.0.1") << h.dump();
    EXPECT_EQ(h.value("x-forwarded-proto", ""), "http") << h.dump();
    EXPECT_EQ(h.value("x-forwarded-host", ""), "app.test") << h.dump();
    EXPECT_EQ(h.value("host", ""), "app.test") << h.dump();
    EXPECT_FALSE(h.contains("x-custom-name")) << h.dump();
    EXPECT_FALSE(h.contains("keep-alive")) << h.dump();
    EXPECT_FALSE(h.contains("x-hop")) << h.dump();
    EXPECT_EQ(h.value("x-kept", ""), "yes") << h.dump();

    auto stats = json::parse(setup.app_stats(app_address), nullptr, false);
    ASSERT_TRUE(stats.is_object());
    EXPECT_EQ(stats["posts"], 1);
    EXPECT_TRUE(stats["incomplete"].empty()) << stats.dump();
}

TEST(ProxyApps, GunicornSyncOverUnixSocket) {
    SKIP_UNLESS_APP_SERVER(AppServer::gunicorn_sync);
    ProxySetup setup;
    const std::string app_address = "unix:" + setup.dir.file("app.sock");
    setup.write_config({app_address});
    ASSERT_PROXY_CONFIG_OK(setup);

    AppProcess app;
    MinidProcess minid;
    ASSERT_TRUE(start_app_and_minid(setup, app, minid, AppServer::gunicorn_sync, app_address));

    check_exchanges(setup.port, setup, app_address);
    EXPECT_TRUE(minid.bad_log_lines().empty()) << minid.log();
}

// An app that answers an upload before reading it: Gunicorn's sync worker sends its 413 and
// closes with the body unread (a reset to minid's send); the 413 reaches the client all the same.
TEST(ProxyApps, GunicornsAnswerBeforeTheBodyIsRelayed) {
    SKIP_UNLESS_APP_SERVER(AppServer::gunicorn_sync);
    ProxySetup setup;
    const std::string app_address = "unix:" + setup.dir.file("app.sock");
    setup.write_config({app_address}, "", "proxy = / app", 2, "\n[http]\nmax_body_size = 16m");
    ASSERT_PROXY_CONFIG_OK(setup);

    AppProcess app;
    MinidProcess minid;
    ASSERT_TRUE(start_app_and_minid(setup, app, minid, AppServer::gunicorn_sync, app_address));

    const std::string upload(8 * 1024 * 1024, 'u');
    for (int i = 0; i < 3; ++i) {
        auto r = request(setup.port,
                         "POST /refuse HTTP/1.1\r\nHost: app.test\r\nContent-Length: " +
                             std::to_string(upload.size()) + "\r\n\r\n",
                         upload);
        ASSERT_TRUE(r.has_value()) << minid.log();
        EXPECT_EQ(r->status, 413) << r->body << minid.log();
        EXPECT_EQ(r->body, "refused\n");
    }
    auto hello = http_get(setup.port, "/hello");
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->status, 200);
    EXPECT_TRUE(minid.bad_log_lines().empty()) << minid.log();
}

TEST(ProxyApps, WaitressOverTcpWithKeepAlive) {
    SKIP_UNLESS_APP_SERVER(AppServer::waitress);
    ProxySetup setup;
    const std::string app_address = "127.0.0.1:" + std::to_string(free_port());
    setup.write_config({app_address}, "keepalive = 8");
    ASSERT_PROXY_CONFIG_OK(setup);

    AppProcess app;
    MinidProcess minid;
    ASSERT_TRUE(start_app_and_minid(setup, app, minid, AppServer::waitress, app_address));

    check_exchanges(setup.port, setup, app_address);

    // 50 requests on one client connection, each answered whole.
    Client c(setup.port);
    ASSERT_TRUE(c.connected());
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: app.test\r\n\r\n"));
        auto r = c.read_responses(1, 10s);
        ASSERT_EQ(r.size(), 1u) << "request " << i;
        EXPECT_EQ(r[0].body, "Hello, world!");
    }
    EXPECT_TRUE(minid.bad_log_lines().empty()) << minid.log();
}

TEST(ProxyApps, ProxyFallbackServesFilesFirst) {
    SKIP_UNLESS_APP_SERVER(AppServer::gunicorn_sync);
    ProxySetup setup;
    const std::string app_address = "unix:" + setup.dir.file("app.sock");
    setup.write_config({app_address}, "", "proxy_fallback = app");
    ASSERT_PROXY_CONFIG_OK(setup);

    AppProcess app;
    MinidProcess minid;
    ASSERT_TRUE(start_app_and_minid(setup, app, minid, AppServer::gunicorn_sync, app_address));

    auto file = http_get(setup.port, "/static.txt");
    ASSERT_TRUE(file.has_value());
    EXPECT_EQ(file->status, 200);
    EXPECT_EQ(file->body, "static file\n");
    auto from_app = http_get(setup.port, "/hello");
    ASSERT_TRUE(from_app.has_value());
    EXPECT_EQ(from_app->body, "Hello, world!");
    auto missing = http_get(setup.port, "/no-such-page");
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(missing->body, "not found\n") << "the 404 must be the app's";
}

TEST(ProxyApps, ServerSentEventsArriveAsTheAppSendsThem) {
    SKIP_UNLESS_APP_SERVER(AppServer::gunicorn_gevent);
    ProxySetup setup;
    const std::string app_address = "unix:" + setup.dir.file("app.sock");
    setup.write_config({app_address});
    ASSERT_PROXY_CONFIG_OK(setup);

    AppProcess app;
    MinidProcess minid;
    ASSERT_TRUE(start_app_and_minid(setup, app, minid, AppServer::gunicorn_gevent, app_address, -1,
                                    {"-w", "1"}));

    Client c(setup.port);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("GET /sse?n=6&ms=300 HTTP/1.1\r\nHost: app.test\r\n\r\n"));
    // Each event carries the app's send time (ms since the epoch): compare with its arrival.
    std::string buf;
    std::vector<long long> delays;
    size_t scanned = 0;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (delays.size() < 6 && std::chrono::steady_clock::now() < deadline) {
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        char tmp[4096];
        ssize_t n = ::recv(c.fd(), tmp, sizeof tmp, 0);
        if (n <= 0) break;
        long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
        buf.append(tmp, static_cast<size_t>(n));
        for (size_t at; (at = buf.find("data: ", scanned)) != std::string::npos;) {
            size_t end = buf.find('\n', at);
            if (end == std::string::npos) break;
            int index = 0;
            long long sent = 0;
            std::sscanf(buf.c_str() + at, "data: %d %lld", &index, &sent);
            delays.push_back(now - sent);
            scanned = end;
        }
    }
    ASSERT_EQ(delays.size(), 6u) << "events received: " << buf;
    for (size_t i = 0; i < delays.size(); ++i)
        EXPECT_LE(delays[i], 100) << "event " << i << " reached the client " << delays[i]
                                  << " ms after the app sent it";
}

}  // namespace
}  // namespace minid::test
