// The reverse proxy against the real binary and a recording fake upstream: the header policy,
// smuggling attempts that must never reach the app, one upstream request per client request,
// upstream responses that break the rules, timeouts, request and response buffering, streaming
// latency, retries while the app is down, and the keep-alive race.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/fake_upstream.hpp"
#include "integration/harness.hpp"

namespace minid::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string upstream_section(const std::string& address, const std::string& extra = "") {
    return "[upstream app]\nserver = " + address + "\n" + extra;
}

// minid with `proxy_keys` in [http] and an [upstream app] at `address`.
struct ProxiedSite {
    Site site;
    MinidProcess minid;
    bool ok = false;
    ProxiedSite(const std::string& address, const std::string& proxy_keys = "proxy = / app\n",
                const std::string& upstream_extra = "", const std::string& http_extra = "",
                int workers = 1)
        : site("", http_extra + proxy_keys + upstream_section(address, upstream_extra), workers) {
        ok = minid.start({"-c", site.config_path}, site.log_path) && minid.wait_serving(site.port);
    }
    ~ProxiedSite() {
        minid.signal(SIGTERM);
        minid.wait_exit();
    }
    uint16_t port() const { return site.port; }
};

std::string request(const std::string& method, const std::string& target,
                    const std::string& extra = "", const std::string& body = "") {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: app.test\r\n" + extra;
    if (!body.empty() || method == "POST")
        r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

std::optional<HttpResponse> one(uint16_t port, const std::string& raw,
                                std::chrono::milliseconds timeout = 5s, bool head = false) {
    Client c(port);
    if (!c.connected() || !c.send(raw)) return std::nullopt;
    auto r = c.read_responses(1, timeout, head);
    if (r.empty()) return std::nullopt;
    return r[0];
}

UpstreamReply echo(const UpstreamRequest& r) {
    return UpstreamReply::ok(r.method + " " + r.target + " " + std::to_string(r.body.size()));
}

TEST(Proxy, HeaderPolicy) {
    FakeUpstream up([](const UpstreamRequest&) {
        return UpstreamReply::ok("hi",
                                 "Connection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: "
                                 "timeout=5\r\nX-App: yes\r\n");
    });
    ProxiedSite p(up.address());
    ASSERT_TRUE(p.ok) << p.minid.log();
    const size_t before = up.request_count();
    auto r = one(p.port(), request("GET", "/a/b?c=d",
                                   "X-Forwarded-For: 6.6.6.6\r\n"
                                   "X-Forwarded-Proto: https\r\n"
                                   "X-Forwarded-Host: evil.test\r\n"
                                   "X_Forwarded_Proto: https\r\n"
                                   "Foo_Bar: 1\r\n"
                                   "Connection: keep-alive, X-Drop\r\n"
                                   "X-Drop: zap\r\n"
                                   "Keep-Alive: 5\r\n"
                                   "X-Keep: kept\r\n"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hi");
    EXPECT_FALSE(r->has("x-secret")) << "named in the upstream's Connection";
    EXPECT_FALSE(r->has("keep-alive"));
    EXPECT_EQ(r->header("x-app"), "yes");
    auto reqs = up.requests();
    ASSERT_EQ(reqs.size(), before + 1);
    const UpstreamRequest& u = reqs.back();
    EXPECT_EQ(u.method, "GET");
    EXPECT_EQ(u.target, "/a/b?c=d");
    EXPECT_EQ(u.header("host"), "app.test");
    EXPECT_EQ(u.header("x-forwarded-for"), "127.0.0.1");
    EXPECT_EQ(u.count("x-forwarded-for"), 1u);
    EXPECT_EQ(u.header("x-forwarded-proto"), "http");
    EXPECT_EQ(u.count("x-forwarded-proto"), 1u);
    EXPECT_EQ(u.header("x-forwarded-host"), "app.test");
    EXPECT_EQ(u.count("x_forwarded_proto"), 0u);
    EXPECT_EQ(u.count("foo_bar"), 0u);
    EXPECT_EQ(u.count("x-drop"), 0u);
    EXPECT_EQ(u.count("keep-alive"), 0u);
    EXPECT_EQ(u.header("x-keep"), "kept");
    // The access log names the upstream's status and time.
    EXPECT_TRUE(eventually([&] {
        return read_file(p.site.dir.file("access.log"))
                   .find("upstream_status=200 upstream_time=") != std::string::npos;
    }));
}

// The X-Forwarded-For headers the app gets for a request from 127.0.0.1 carrying `extra`, with
// `trusted` as [http] trusted_proxies; "error" if the request failed.
std::string forwarded_for_seen(FakeUpstream& up, const std::string& trusted,
                               const std::string& extra) {
    ProxiedSite p(up.address(), "proxy = / app\n", "", "trusted_proxies = " + trusted + "\n");
    if (!p.ok) return "error: " + p.minid.log();
    auto r = one(p.port(), request("GET", "/xff", extra));
    if (!r || r->status != 200) return "error: no 200";
    const UpstreamRequest u = up.requests().back();
    return u.count("x-forwarded-for") == 1 ? u.header("x-forwarded-for") : "error: count";
}

// trusted_proxies: a listed peer's X-Forwarded-For is appended to; any other peer's replaced.
TEST(Proxy, TrustedProxiesKeepTheirForwardedFor) {
    FakeUpstream up([](const UpstreamRequest&) { return UpstreamReply::ok("hi"); });
    const std::string spoofed = "X-Forwarded-For: 6.6.6.6, 7.7.7.7\r\n";
    EXPECT_EQ(forwarded_for_seen(up, "10.0.0.0/8 127.0.0.1/8", spoofed),
              "6.6.6.6, 7.7.7.7, 127.0.0.1");
    // Without an incoming list a trusted peer's own address is all.
    EXPECT_EQ(forwarded_for_seen(up, "127.0.0.1/8", ""), "127.0.0.1");
    // Not listed (other ranges, IPv6 loopback, unix peers): replaced.
    EXPECT_EQ(forwarded_for_seen(up, "10.0.0.0/8 ::1 unix", spoofed), "127.0.0.1");
}

TEST(Proxy, SmugglingAttemptsNeverReachTheUpstream) {
    FakeUpstream up(echo);
    ProxiedSite p(up.address());
    ASSERT_TRUE(p.ok) << p.minid.log();
    const size_t before = up.request_count();
    const std::string H = "Host: app.test\r\n";
    const std::vector<std::string> corpus = {
        "POST / HTTP/1.1\r\n" + H +
            "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\n" + H +
            "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 0\r\n\r\nabc",
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, x\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: x, chunked\r\n\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\n" + H + "X-Folded: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\n" + H + "\r\n",
        "GET / HTTP/1.1\r\nHost: app.test\nX: y\r\n\r\n",
        std::string("GET / HTTP/1.1\r\nX: a\0b\r\n", 25) + H + "\r\n",
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\n" + H +
            "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
    };
    for (const std::string& bad : corpus) {
        Client c(p.port());
        ASSERT_TRUE(c.connected());
        ASSERT_TRUE(c.send(bad + "GET /second HTTP/1.1\r\nHost: app.test\r\n\r\n"));
        std::string got;
        c.read_until_close(got, 3s);
        // 400, or 501 for a transfer coding minid does not implement.
        EXPECT_TRUE(got.starts_with("HTTP/1.1 400 ") || got.starts_with("HTTP/1.1 501 "))
            << bad << "\n--- got ---\n"
            << got;
        EXPECT_EQ(got.find("GET /second"), std::string::npos) << bad;
    }
    EXPECT_EQ(up.request_count(), before) << "a hostile request reached the upstream";
}

TEST(Proxy, OneUpstreamRequestPerClientRequest) {
    FakeUpstream up(echo);
    ProxiedSite p(up.address());
    ASSERT_TRUE(p.ok) << p.minid.log();
    const size_t before = up.request_count();
    Client c(p.port());
    std::string pipelined;
    for (int i = 0; i < 10; ++i) pipelined += request("GET", "/n" + std::to_string(i));
    for (int i = 0; i < 5; ++i) pipelined += request("POST", "/p" + std::to_string(i), "", "x");
    ASSERT_TRUE(c.send(pipelined));
    auto rs = c.read_responses(15);
    ASSERT_EQ(rs.size(), 15u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(rs[i].body, "GET /n" + std::to_string(i) + " 0");
    for (int i = 0; i < 5; ++i) EXPECT_EQ(rs[10 + i].body, "POST /p" + std::to_string(i) + " 1");
    EXPECT_EQ(up.request_count(), before + 15);
    EXPECT_LE(up.connections(), 2) << "the pool reuses its connection";
}

struct BadCase {
    const char* name;
    std::string reply;
    bool close;
    int status;        // what the client gets
    std::string body;  // and its body, when status is 200
    std::string method = "GET";
};

TEST(Proxy, UpstreamResponsesAreFramedOrRefused) {
    const std::vector<BadCase> cases = {
        {"70 KiB head",
         "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a') +
             "\r\nContent-Length: 1\r\n\r\nx",
         false, 502, ""},
        {"CR in a value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 1\r\n\r\nx", false, 502,
         ""},
        {"LF in a value", "HTTP/1.1 200 OK\r\nX-A: a\nb: c\r\nContent-Length: 1\r\n\r\nx", false,
         502, ""},
        {"CL and TE",
         "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: "
         "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         false, 502, ""},
        {"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
         false, 502, ""},
        {"extra bytes after the response",
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: "
         "4\r\n\r\nevil",
         false, 200, "ok"},
        {"no length, then close", "HTTP/1.1 200 OK\r\n\r\nuntil close", true, 200, "until close"},
        {"103 then 200",
         "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"
         "Content-Length: 5\r\n\r\nfinal",
         false, 200, "final"},
        {"chunked",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
         false, 200, "abcde"},
        {"204 with stray bytes", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nstray", false,
         204, ""},
        {"304 with stray bytes", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nstray",
         false, 304, ""},
        {"HEAD with stray bytes", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray", false, 200,
         "", "HEAD"},
    };
    for (const BadCase& bc : cases) {
        SCOPED_TRACE(bc.name);
        FakeUpstream up(
            [&](const UpstreamRequest&) { return UpstreamReply::raw(bc.reply, bc.close); });
        ProxiedSite p(up.address(), "proxy = /app app\n");
        ASSERT_TRUE(p.ok) << p.minid.log();
        Client c(p.port());
        ASSERT_TRUE(c.send(request(bc.method, "/app/x") + request(bc.method, "/app/y")));
        auto rs = c.read_responses(2, 5s, bc.method == "HEAD");
        ASSERT_GE(rs.size(), 1u) << c.buffered();
        EXPECT_EQ(rs[0].status, bc.status);
        if (bc.status == 200) {
            EXPECT_EQ(rs[0].body, bc.body);
            ASSERT_EQ(rs.size(), 2u) << "the client connection stays usable";
            EXPECT_EQ(rs[1].body, bc.body) << "a second request gets its own answer";
        }
        if (bc.method == "HEAD") EXPECT_EQ(rs[0].header("content-length"), "5");
        if (std::string(bc.name) == "extra bytes after the response")
            EXPECT_EQ(up.connections(), 2) << "a connection with stray bytes is not reused";
    }
}

TEST(Proxy, ReadTimeoutGives504OnTime) {
    FakeUpstream up([](const UpstreamRequest&) {
        UpstreamReply r = UpstreamReply::ok("late");
        r.pieces[0].delay = 3s;
        return r;
    });
    ProxiedSite p(up.address(), "proxy = /slow app\n", "read_timeout = 1s\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    const auto t0 = Clock::now();
    auto r = one(p.port(), request("GET", "/slow"));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 504);
    EXPECT_GE(took.count(), 900);
    EXPECT_LE(took.count(), 1100);
}

TEST(Proxy, BodyLimitAndContinueAreMinids) {
    FakeUpstream up(echo);
    ProxiedSite p(up.address(), "proxy = / app\n", "", "max_body_size = 1k\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    const size_t before = up.request_count();
    auto big = one(p.port(), request("POST", "/up", "", std::string(2000, 'b')));
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
    EXPECT_EQ(up.request_count(), before) << "413 without contacting the upstream";

    Client c(p.port());
    ASSERT_TRUE(
        c.send("POST /up HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\n"
               "Content-Length: 5\r\n\r\n"));
    auto cont = c.read_responses(1, 3s);
    ASSERT_EQ(cont.size(), 1u) << c.buffered();
    EXPECT_EQ(cont[0].status, 100);
    EXPECT_EQ(up.request_count(), before) << "nothing goes upstream before the body";
    ASSERT_TRUE(c.send("hello"));
    auto done = c.read_responses(1, 3s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].body, "POST /up 5");
    auto reqs = up.requests();
    ASSERT_EQ(reqs.size(), before + 1);
    EXPECT_EQ(reqs.back().count("expect"), 0u);
    EXPECT_EQ(reqs.back().body, "hello");
}

// An app that answers an upload before reading it (413, 401) and leaves the body unread: the
// send of the body cannot finish, and the answer goes to the client as nginx passes it on. The
// cut-short connection is never reused: the fake reads nothing more on it, so a reuse would end
// in read_timeout's 504.
void expect_early_answer_relayed(FakeUpstream& up, const std::string& address, bool closes) {
    up.set_answer_before_body(true);
    ProxiedSite p(address, "proxy = / app\n", "send_timeout = 3s\nread_timeout = 3s\n",
                  "max_body_size = 16m\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    const int connections_before = up.connections();  // wait_serving's probe went upstream
    const std::string body(8 * 1024 * 1024, 'u');     // more than any socket buffer takes
    Client c(p.port());
    ASSERT_TRUE(c.connected());
    const auto t0 = Clock::now();
    ASSERT_TRUE(c.send(request("POST", "/upload", "", body)));
    auto r = c.read_responses(1, 5s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    ASSERT_EQ(r.size(), 1u) << p.minid.log();
    EXPECT_EQ(r[0].status, 413) << r[0].body;
    EXPECT_EQ(r[0].body, "too large");
    EXPECT_LT(took.count(), 2500) << "answered before send_timeout";
    // The client's connection is still good; the app's is not used again.
    ASSERT_TRUE(c.send(request("GET", "/next")));
    auto next = c.read_responses(1, 5s);
    ASSERT_EQ(next.size(), 1u) << p.minid.log();
    EXPECT_EQ(next[0].status, 413);
    EXPECT_EQ(up.connections() - connections_before, 2) << (closes ? "reset" : "left open");
    // No upstream failure was logged (a bare "502" also matched a random port number).
    EXPECT_EQ(p.minid.log().find("proxy [upstream"), std::string::npos) << p.minid.log();
}

UpstreamReply too_large(bool close) {
    return UpstreamReply::raw(
        "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large",
        close);
}

TEST(Proxy, AnEarlyAnswerToAnUploadIsRelayed) {
    FakeUpstream up([](const UpstreamRequest&) { return too_large(false); });
    expect_early_answer_relayed(up, up.address(), false);
}

TEST(Proxy, AnEarlyAnswerThenAResetIsRelayedOverTcp) {
    FakeUpstream up([](const UpstreamRequest&) { return too_large(true); });
    expect_early_answer_relayed(up, up.address(), true);
}

TEST(Proxy, AnEarlyAnswerThenAResetIsRelayedOverUnix) {
    TempDir d;
    const std::string sock = d.file("app.sock");
    FakeUpstream up([](const UpstreamRequest&) { return too_large(true); }, sock);
    expect_early_answer_relayed(up, up.address(), true);
}

TEST(Proxy, ChunkedUploadGoesUpWithALengthAndBigBodiesSurvive) {
    FakeUpstream up([](const UpstreamRequest& r) {
        return UpstreamReply::ok(r.header("content-length") + ":" + r.header("transfer-encoding") +
                                 ":" + std::to_string(r.body.size()) + ":" +
                                 std::string(300 * 1024, 'r'));
    });
    ProxiedSite p(up.address(), "proxy = / app\n", "", "max_body_size = 4m\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    auto r = one(p.port(),
                 "POST /c HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body.substr(0, 7), "11::11:");
    const std::string body(200 * 1024, 'q');  // beyond memory: a temp file each way
    auto big = one(p.port(), request("POST", "/big", "", body));
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 200);
    EXPECT_EQ(big->body.size(), std::string("204800::204800:").size() + 300 * 1024);
    EXPECT_EQ(big->body.substr(0, 15), "204800::204800:");
    auto reqs = up.requests();
    EXPECT_EQ(reqs.back().body, body);
}

TEST(Proxy, EventStreamsAreStreamedAtOnce) {
    FakeUpstream up([](const UpstreamRequest&) {
        UpstreamReply r;
        r.pieces.push_back({0ms,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            "Transfer-Encoding: chunked\r\n\r\nb\r\ndata: one\n\n\r\n"});
        r.pieces.push_back({600ms, "b\r\ndata: two\n\n\r\n0\r\n\r\n"});
        return r;
    });
    ProxiedSite p(up.address());
    ASSERT_TRUE(p.ok) << p.minid.log();
    Client c(p.port());
    const auto t0 = Clock::now();
    ASSERT_TRUE(c.send(request("GET", "/events")));
    std::string got;
    while (got.find("data: one") == std::string::npos && Clock::now() - t0 < 2s) {
        c.read_until_close(got, 5ms);
    }
    const auto first = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    EXPECT_NE(got.find("data: one"), std::string::npos);
    EXPECT_LT(first.count(), 50) << "the first event waited for the rest";
    // The last chunk may follow the second event in a write of its own.
    while (got.find("0\r\n\r\n") == std::string::npos && Clock::now() - t0 < 3s)
        c.read_until_close(got, 5ms);
    EXPECT_NE(got.find("data: two"), std::string::npos);
    EXPECT_NE(got.find("0\r\n\r\n"), std::string::npos) << "the stream ends properly";
}

TEST(Proxy, ALargeResponseStartsBeforeItsEnd) {
    std::string body;
    for (int i = 0; body.size() < 1024 * 1024; ++i) body += std::to_string(i) + ",";
    FakeUpstream up([&](const UpstreamRequest&) {
        UpstreamReply r;
        const std::string head =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        r.pieces.push_back({0ms, head + body.substr(0, 400 * 1024)});
        r.pieces.push_back({700ms, body.substr(400 * 1024)});
        return r;
    });
    ProxiedSite p(up.address());
    ASSERT_TRUE(p.ok) << p.minid.log();
    Client c(p.port());
    const auto t0 = Clock::now();
    ASSERT_TRUE(c.send(request("GET", "/big")));
    std::string got;
    while (got.size() < 100 * 1024 && Clock::now() - t0 < 2s) c.read_until_close(got, 5ms);
    const auto first = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    EXPECT_LT(first.count(), 500) << "the client waited for the whole response";
    auto rs = c.read_responses(1, 5s);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].status, 200);
    EXPECT_EQ(rs[0].header("content-length"), std::to_string(body.size()));
    EXPECT_TRUE(rs[0].body == body)
        << "the body arrived changed (" << rs[0].body.size() << " bytes)";
}

// The largest unlinked temp file the minid processes under `master` hold open now.
uint64_t largest_temp_file(pid_t master) {
    uint64_t largest = 0;
    for (pid_t w : children_of(master)) {
        const std::string dir = "/proc/" + std::to_string(w) + "/fd";
        for (int fd = 0; fd < 1024; ++fd) {
            const std::string link = dir + "/" + std::to_string(fd);
            char target[512];
            const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
            if (n <= 0) continue;
            const std::string t(target, static_cast<size_t>(n));
            // Not memfds: the temp files live in $TMPDIR (/tmp here).
            if (t.rfind("/tmp/", 0) != 0 || t.find("(deleted)") == std::string::npos) continue;
            struct stat st {};
            if (::stat(link.c_str(), &st) == 0 && S_ISREG(st.st_mode))
                largest = std::max<uint64_t>(largest, static_cast<uint64_t>(st.st_size));
        }
    }
    return largest;
}

std::string dechunk(const std::string& in) {
    std::string out;
    size_t pos = 0;
    for (;;) {
        const size_t eol = in.find("\r\n", pos);
        if (eol == std::string::npos) return out + "<cut>";
        const size_t size = std::stoul(in.substr(pos, eol - pos), nullptr, 16);
        if (size == 0) return out;
        out.append(in, eol + 2, size);
        pos = eol + 2 + size + 2;
    }
}

// A 16 MiB response (with a length, or chunked) to a client that reads nothing for a while:
// the temp file stops at max_temp_file_size, the app waits, and the body arrives intact.
void expect_spool_bounded(const std::string& cap, uint64_t bound, bool spools) {
    std::string body;
    for (int i = 0; body.size() < 16 * 1024 * 1024; ++i) body += std::to_string(i) + ",";
    FakeUpstream up([&](const UpstreamRequest& r) {
        if (r.target == "/length") return UpstreamReply::ok(body);
        std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (size_t off = 0; off < body.size(); off += 50000) {
            const size_t n = std::min<size_t>(50000, body.size() - off);
            char size[16];
            std::snprintf(size, sizeof size, "%zx\r\n", n);
            chunked += size + body.substr(off, n) + "\r\n";
        }
        return UpstreamReply::raw(chunked + "0\r\n\r\n");
    });
    ProxiedSite p(up.address(), "proxy = / app\n", "max_temp_file_size = " + cap + "\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    for (const char* target : {"/length", "/chunked"}) {
        SCOPED_TRACE(std::string(target) + " max_temp_file_size = " + cap);
        const int fd = connect_tcp(p.port(), "127.0.0.1", 16 * 1024);
        ASSERT_GE(fd, 0);
        const std::string req = request("GET", target, "Connection: close\r\n");
        ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(req.size()));
        uint64_t largest = 0;
        for (int i = 0; i < 15; ++i) {  // 1.5 s of a client that reads nothing
            std::this_thread::sleep_for(100ms);
            largest = std::max(largest, largest_temp_file(p.minid.pid()));
        }
        EXPECT_LE(largest, bound) << "the temp file outgrew max_temp_file_size";
        if (spools) EXPECT_GT(largest, 0u) << "nothing was spooled: the test shows nothing";
        std::string got;
        char buf[65536];
        const auto t0 = Clock::now();
        for (;;) {
            pollfd pfd{fd, POLLIN, 0};
            if (Clock::now() - t0 > 20s || ::poll(&pfd, 1, 1000) <= 0) break;
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
        ::close(fd);
        const size_t end = got.find("\r\n\r\n");
        ASSERT_NE(end, std::string::npos);
        const std::string head = got.substr(0, end);
        EXPECT_NE(head.find(" 200 "), std::string::npos) << head;
        std::string got_body = got.substr(end + 4);
        if (head.find("chunked") != std::string::npos) got_body = dechunk(got_body);
        EXPECT_EQ(got_body.size(), body.size());
        EXPECT_TRUE(got_body == body) << "the body arrived changed";
    }
}

TEST(Proxy, MaxTempFileSizeBoundsTheSpoolOfASlowReader) {
    expect_spool_bounded("2m", 2 * 1024 * 1024, true);
}

TEST(Proxy, MaxTempFileSizeZeroNeverSpoolsToDisk) {
    expect_spool_bounded("0", 0, false);
}

TEST(Proxy, AStreamRouteStreamsAnyResponse) {
    FakeUpstream up([](const UpstreamRequest&) {
        UpstreamReply r;
        r.pieces.push_back({0ms,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                            "Content-Length: 10\r\n\r\nfirst"});
        r.pieces.push_back({600ms, "later"});
        return r;
    });
    ProxiedSite p(up.address(), "proxy = /live app stream\nproxy = /app app\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    for (const char* target : {"/live", "/app"}) {
        SCOPED_TRACE(target);
        Client c(p.port());
        const auto t0 = Clock::now();
        ASSERT_TRUE(c.send(request("GET", target)));
        std::string got;
        while (got.find("first") == std::string::npos && Clock::now() - t0 < 2s)
            c.read_until_close(got, 5ms);
        const auto first = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
        if (std::string(target) == "/live")
            EXPECT_LT(first.count(), 300) << "the stream route waited for the whole response";
        else
            EXPECT_GE(first.count(), 550) << "a buffered route sends the whole response at once";
        auto rs = c.read_responses(1, 3s);
        ASSERT_EQ(rs.size(), 1u);
        EXPECT_EQ(rs[0].body, "firstlater");
    }
}

TEST(Proxy, RefusedConnectsAreRetriedWithinTheWindow) {
    TempDir d;
    const std::string sock = d.file("app.sock");
    ProxiedSite p("unix:" + sock, "proxy = /app app\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    std::unique_ptr<FakeUpstream> up;
    std::thread late([&] {
        std::this_thread::sleep_for(1s);
        up = std::make_unique<FakeUpstream>(echo, sock);
    });
    const auto t0 = Clock::now();
    auto r = one(p.port(), request("POST", "/app/x", "", "data"));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    late.join();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << p.minid.log();
    EXPECT_EQ(r->body, "POST /app/x 4");
    EXPECT_GE(took.count(), 950);
    EXPECT_LE(took.count(), 1500);
    EXPECT_EQ(up->request_count(), 1u);
    // Past retry_window: 502.
    up.reset();
    auto gone = one(p.port(), request("GET", "/app/y"), 10s);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status, 502);
}

TEST(Proxy, KeepAliveRaceLosesNoGetAndRepeatsNoPost) {
    FakeUpstream up(echo);
    up.set_idle_timeout(1s);
    ProxiedSite p(up.address(), "proxy = /app app\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    int get_errors = 0;
    int posts_ok = 0;
    for (int i = 0; i < 12; ++i) {
        auto g = one(p.port(), request("GET", "/app/g" + std::to_string(i)));
        if (!g || g->status != 200) ++get_errors;
        std::this_thread::sleep_for(490ms + std::chrono::milliseconds(i * 5));
        auto q = one(p.port(), request("POST", "/app/p" + std::to_string(i), "", "x"));
        if (q && q->status == 200) ++posts_ok;
        std::this_thread::sleep_for(490ms + std::chrono::milliseconds(i * 5));
    }
    EXPECT_EQ(get_errors, 0);
    std::multiset<std::string> posts;
    for (const UpstreamRequest& r : up.requests())
        if (r.method == "POST") posts.insert(r.target);
    for (const std::string& t : posts) EXPECT_EQ(posts.count(t), 1u) << t << " ran twice";
    EXPECT_GE(posts_ok, 10);
}

TEST(Proxy, FallbackServesFilesFirstAndRefusesToBeAnOpenProxy) {
    FakeUpstream up(echo);
    ProxiedSite p(up.address(), "proxy_fallback = app\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    auto file = one(p.port(), request("GET", "/hello.txt"));
    ASSERT_TRUE(file);
    EXPECT_EQ(file->body, "Hello, world!");
    auto missing = one(p.port(), request("GET", "/nope"));
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->body, "GET /nope 0");
    auto post = one(p.port(), request("POST", "/hello.txt", "", "z"));
    ASSERT_TRUE(post);
    EXPECT_EQ(post->body, "POST /hello.txt 1");
    const size_t before = up.request_count();
    auto connect =
        one(p.port(), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    ASSERT_TRUE(connect);
    EXPECT_GE(connect->status, 400);
    auto absolute = one(p.port(), "GET http://other.test/x HTTP/1.1\r\nHost: app.test\r\n\r\n");
    ASSERT_TRUE(absolute);
    EXPECT_EQ(absolute->status, 400);
    EXPECT_EQ(up.request_count(), before);
}

UpstreamReply slow_echo(const UpstreamRequest& r) {
    UpstreamReply reply = echo(r);
    reply.pieces[0].delay = 600ms;
    return reply;
}

TEST(Proxy, ADrainingWorkerFinishesProxiedRequests) {
    FakeUpstream up(slow_echo);
    ProxiedSite p(up.address(), "proxy = /app app\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    Client c(p.port());
    ASSERT_TRUE(c.send(request("GET", "/app/slow")));
    std::this_thread::sleep_for(150ms);
    p.minid.signal(SIGHUP);  // reload: this connection's worker drains
    auto rs = c.read_responses(1, 5s);
    ASSERT_EQ(rs.size(), 1u) << p.minid.log();
    EXPECT_EQ(rs[0].status, 200);
    EXPECT_EQ(rs[0].body, "GET /app/slow 0");
    EXPECT_EQ(rs[0].header("connection"), "close");
}

TEST(Proxy, MaxConnectionsQueuesThenAnswers503) {
    FakeUpstream up(slow_echo);
    ProxiedSite p(up.address(), "proxy = /app app\n",
                  "max_connections = 1\nconnect_timeout = 200ms\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    Client first(p.port());
    ASSERT_TRUE(first.send(request("GET", "/app/1")));
    std::this_thread::sleep_for(50ms);
    const auto t0 = Clock::now();
    auto second = one(p.port(), request("GET", "/app/2"));
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 503);
    EXPECT_GE(waited.count(), 180);
    auto rs = first.read_responses(1, 3s);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].status, 200);
    EXPECT_EQ(up.connections(), 1) << "never more than max_connections";
}

TEST(Proxy, SeveralServersShareTheLoadByRequestsInFlight) {
    FakeUpstream a(slow_echo);
    FakeUpstream b(slow_echo);
    ProxiedSite p(a.address(), "proxy = /app app\n", "server = " + b.address() + "\n");
    ASSERT_TRUE(p.ok) << p.minid.log();
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(std::make_unique<Client>(p.port()));
        ASSERT_TRUE(clients.back()->send(request("GET", "/app/" + std::to_string(i))));
    }
    for (auto& c : clients) {
        auto rs = c->read_responses(1, 5s);
        ASSERT_EQ(rs.size(), 1u);
        EXPECT_EQ(rs[0].status, 200);
    }
    EXPECT_EQ(a.request_count(), 2u);
    EXPECT_EQ(b.request_count(), 2u);
}

TEST(Proxy, StatusAndMetricsCountEachUpstream) {
    FakeUpstream up(echo);
    Site site("", "", 1);
    const std::string sock = site.dir.file("run/ctl.sock");
    site.dir.write("minid.conf",
                   "[server]\nlisten = 127.0.0.1:" + std::to_string(site.port) +
                       "\nworkers = 1\naccess_log = off\ncontrol_socket = " + sock +
                       "\n[http]\nroot = " + site.root +
                       "\nproxy = /app app\n[upstream app]\nserver = " + up.address() + "\n");
    MinidProcess minid;
    ASSERT_TRUE(minid.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(minid.wait_serving(site.port)) << minid.log();
    for (int i = 0; i < 3; ++i) {
        auto r = one(site.port, request("GET", "/app/" + std::to_string(i)));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    }
    const std::string ctl = std::string(MINIDCTL_BINARY) + " --control " + sock + " ";
    // Workers publish their upstream counters with the heartbeat, once a second.
    nlohmann::json upstream;
    EXPECT_TRUE(eventually(
        [&] {
            CommandResult r = run_command(ctl + "status --json");
            auto j = nlohmann::json::parse(r.output, nullptr, false);
            if (j.is_discarded() || !j.contains("upstreams") || j["upstreams"].empty())
                return false;
            upstream = j["upstreams"][0];
            return upstream["requests"].get<uint64_t>() == 3;
        },
        5s, 100ms))
        << upstream.dump();
    EXPECT_EQ(upstream["name"], "app");
    EXPECT_EQ(upstream["connections_open"].get<uint64_t>(), 1u);
    EXPECT_EQ(upstream["connections_idle"].get<uint64_t>(), 1u);
    EXPECT_EQ(upstream["errors"]["connect"].get<uint64_t>(), 0u);
    CommandResult table = run_command(ctl + "status");
    EXPECT_NE(table.output.find("upstream app: 3 requests"), std::string::npos) << table.output;
    CommandResult metrics = run_command(ctl + "metrics");
    EXPECT_NE(metrics.output.find("minid_upstream_requests_total{upstream=\"app\"} 3"),
              std::string::npos)
        << metrics.output;
    minid.signal(SIGTERM);
    minid.wait_exit();
}

TEST(Proxy, OverTlsTheAppHearsHttps) {
    FakeUpstream up([](const UpstreamRequest& r) {
        return UpstreamReply::ok("proto=" + r.header("x-forwarded-proto"));
    });
    Site site("", "", 1);
    const CommandResult cert = run_command(
        "cd " + site.dir.path() +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
        "www.key -out www.pem -days 2 -subj /CN=www.test -addext subjectAltName=DNS:www.test");
    ASSERT_EQ(cert.exit_code, 0) << cert.output;
    const uint16_t tls_port = free_port();
    site.dir.write("minid.conf",
                   "[server]\nlisten = 127.0.0.1:" + std::to_string(site.port) +
                       "\nlisten_tls = 127.0.0.1:" + std::to_string(tls_port) +
                       "\nworkers = 1\naccess_log = off\ncontrol_socket = off\n"
                       "[http]\nroot = " +
                       site.root + "\ntls_certificate = " + site.dir.file("www.pem") +
                       "\ntls_key = " + site.dir.file("www.key") +
                       "\nproxy = /app app\n[upstream app]\nserver = " + up.address() + "\n");
    MinidProcess minid;
    ASSERT_TRUE(minid.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(minid.wait_serving(site.port)) << minid.log();
    const CommandResult tls =
        run_command("curl -s -k --max-time 10 --resolve www.test:" + std::to_string(tls_port) +
                    ":127.0.0.1 https://www.test:" + std::to_string(tls_port) + "/app/x");
    EXPECT_EQ(tls.output, "proto=https") << tls.output << minid.log();
    auto plain = one(site.port, request("GET", "/app/x"));
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->body, "proto=http");
    minid.signal(SIGTERM);
    minid.wait_exit();
}

}  // namespace
}  // namespace minid::test
