// Upgrade through the reverse proxy: after the upstream's 101 minid relays bytes both ways
// (a WebSocket-style tunnel) until either side closes, with a tiny echo upstream in the test.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.hpp"
#include "integration/tls_clients.hpp"

namespace minid::test {
namespace {

using Clock = std::chrono::steady_clock;

// One read within the time left until `end`, appended to `out`: the bytes read, 0 at the
// peer's close, -1 on a timeout or an error (errno says which: 0 for a timeout).
ssize_t read_before(int fd, Clock::time_point end, std::string& out) {
    errno = 0;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) return -1;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return -1;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    return n;
}

// Reads from `fd` until `out` contains `expect` (or the peer closes, or 5 s pass).
bool read_until(int fd, std::string& out, const std::string& expect) {
    const auto end = Clock::now() + 5s;
    while (out.find(expect) == std::string::npos)
        if (read_before(fd, end, out) <= 0) return false;
    return true;
}

// True when the peer closes (or resets) `fd` within 5 s; bytes before go to `out`.
bool read_to_close(int fd, std::string& out) {
    const auto end = Clock::now() + 5s;
    for (;;) {
        const ssize_t n = read_before(fd, end, out);
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;
    }
}

bool send_all(int fd, const std::string& data) {
    return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

// An upstream that answers an Upgrade request with 101 and "hello", then echoes what comes,
// closes on "quit", and half-closes back when the other side does. Anything else gets a
// plain 200 "plain". Records the heads it received (but the harness's readiness probe).
class EchoUpstream {
  public:
    EchoUpstream() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
            ::listen(listen_fd_, 16) != 0 ||
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            return;
        port_ = ntohs(a.sin_port);
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~EchoUpstream() {
        stop_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        accept_thread_.join();
        ::close(listen_fd_);
        for (std::thread& t : workers_) t.join();
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    bool ok() const { return port_ != 0; }
    std::vector<std::string> heads() const {
        std::lock_guard lock(mu_);
        return heads_;
    }
    // Tunnels that saw the other side's end of input (a half-close passed on by minid).
    int half_closes() const { return half_closes_; }

  private:
    void accept_loop() {
        while (!stop_) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) return;
            workers_.emplace_back([this, fd] { serve(fd); });
        }
    }
    void serve(int fd) {
        std::string in;
        if (!read_until(fd, in, "\r\n\r\n")) {
            ::close(fd);
            return;
        }
        const std::string head = in.substr(0, in.find("\r\n\r\n") + 4);
        in.erase(0, head.size());
        if (head.find(" /__minid_probe__ ") == std::string::npos) {  // not wait_serving's probe
            std::lock_guard lock(mu_);
            heads_.push_back(head);
        }
        if (head.find("\r\nUpgrade: websocket\r\n") == std::string::npos) {
            send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain");
            ::close(fd);
            return;
        }
        send_all(fd,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                 "Upgrade\r\n\r\nhello");
        for (;;) {
            if (!in.empty()) {
                if (in.find("quit") != std::string::npos) break;
                send_all(fd, in);
                in.clear();
            }
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) break;
            char buf[65536];
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n == 0) {
                ++half_closes_;
                ::shutdown(fd, SHUT_WR);
                break;
            }
            if (n < 0) break;
            in.append(buf, static_cast<size_t>(n));
        }
        ::close(fd);
    }

    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> half_closes_{0};
    std::thread accept_thread_;
    std::vector<std::thread> workers_;  // joined at the end (a handful per test)
    mutable std::mutex mu_;
    std::vector<std::string> heads_;
};

struct TunnelSite {
    Site site;
    MinidProcess minid;
    bool ok = false;
    explicit TunnelSite(const std::string& upstream, const std::string& upstream_extra = "")
        : site("", "proxy = / app\n[upstream app]\nserver = " + upstream + "\n" + upstream_extra,
               1) {
        ok = minid.start({"-c", site.config_path}, site.log_path) && minid.wait_serving(site.port);
    }
    ~TunnelSite() {
        minid.signal(SIGTERM);
        minid.wait_exit();
    }
};

constexpr const char* kUpgrade =
    "GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// An echo upstream, minid in front of it, and a client whose tunnel is open: the 101 head and
// the upstream's first bytes have arrived.
struct OpenTunnel {
    EchoUpstream up;
    TunnelSite site;
    Client client;
    std::string got;  // what the client read so far
    bool ok = false;
    explicit OpenTunnel(const std::string& upstream_extra = "")
        : site(up.address(), upstream_extra), client(site.site.port) {
        ok = up.ok() && site.ok && client.connected() && client.send(kUpgrade) &&
             read_until(client.fd(), got, "\r\n\r\nhello");
    }
    int fd() const { return client.fd(); }
    uint16_t port() const { return site.site.port; }
};

TEST(ProxyTunnel, BytesFlowBothWaysAndTheClientClosesFirst) {
    OpenTunnel t;
    ASSERT_TRUE(t.ok) << t.got << t.site.minid.log();
    std::string& got = t.got;
    EXPECT_EQ(got.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << got;
    EXPECT_NE(got.find("\r\nUpgrade: websocket\r\n"), std::string::npos) << got;
    EXPECT_NE(got.find("\r\nConnection: upgrade\r\n"), std::string::npos) << got;
    EXPECT_EQ(got.find("Content-Length"), std::string::npos) << got;
    const auto heads = t.up.heads();
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_NE(heads[0].find("\r\nUpgrade: websocket\r\n"), std::string::npos) << heads[0];
    EXPECT_NE(heads[0].find("\r\nConnection: upgrade\r\n"), std::string::npos) << heads[0];
    EXPECT_NE(heads[0].find("\r\nSec-WebSocket-Key: "), std::string::npos) << heads[0];

    // Several round trips, one larger than a relay buffer.
    for (const std::string& msg :
         {std::string("ping-1"), std::string(200'000, 'x') + "end", std::string("ping-2")}) {
        got.clear();
        ASSERT_TRUE(send_all(t.fd(), msg));
        ASSERT_TRUE(read_until(t.fd(), got, msg)) << got.size() << " of " << msg.size();
        EXPECT_EQ(got, msg);
    }
    // The client's half-close reaches the app, whose close reaches the client.
    ::shutdown(t.fd(), SHUT_WR);
    got.clear();
    EXPECT_TRUE(read_to_close(t.fd(), got)) << got;
    EXPECT_TRUE(got.empty()) << got;
    EXPECT_TRUE(eventually([&] { return t.up.half_closes() == 1; }, 5s));
    // The access log shows the 101.
    EXPECT_TRUE(eventually([&] {
        return read_file(t.site.site.dir.file("access.log")).find("\"GET /ws HTTP/1.1\" 101") !=
               std::string::npos;
    }));
}

TEST(ProxyTunnel, TheUpstreamClosesFirstAndOtherRequestsGoOn) {
    OpenTunnel t;
    ASSERT_TRUE(t.ok) << t.got << t.site.minid.log();
    std::string& got = t.got;

    // While the tunnel is open, a plain request on another connection is answered.
    auto r = http_get(t.port(), "/plain");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "plain");

    got.clear();
    ASSERT_TRUE(send_all(t.fd(), "echo-me"));
    ASSERT_TRUE(read_until(t.fd(), got, "echo-me")) << got;
    ASSERT_TRUE(send_all(t.fd(), "quit"));
    got.clear();
    EXPECT_TRUE(read_to_close(t.fd(), got)) << got;
    EXPECT_TRUE(got.empty()) << got;

    // And after it closed too.
    r = http_get(t.port(), "/after");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "plain");
}

TEST(ProxyTunnel, OnlyAGetThatAsksForAnUpgradeInConnectionGetsOne) {
    EchoUpstream up;
    ASSERT_TRUE(up.ok());
    TunnelSite s(up.address());
    ASSERT_TRUE(s.ok) << s.minid.log();
    // Upgrade without "Connection: upgrade": an ordinary request, the header dropped.
    auto r = http_get(s.site.port, "/no", "Upgrade: websocket\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    // A POST asking for an upgrade: ordinary too.
    r = http_get(s.site.port, "/post",
                 "Upgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 0\r\n", "POST");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    const auto heads = up.heads();
    ASSERT_EQ(heads.size(), 2u);
    for (const std::string& h : heads) {
        EXPECT_EQ(h.find("Upgrade:"), std::string::npos) << h;
        EXPECT_EQ(h.find("upgrade"), std::string::npos) << h;
    }
}

TEST(ProxyTunnel, AnIdleTunnelClosesAfterTheUpstreamsReadTimeout) {
    OpenTunnel t("read_timeout = 1s\n");
    ASSERT_TRUE(t.ok) << t.got << t.site.minid.log();
    std::string& got = t.got;
    const auto start = Clock::now();
    got.clear();
    EXPECT_TRUE(read_to_close(t.fd(), got)) << got;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    // The sweep runs about every 100-250 ms.
    EXPECT_GE(ms, 900);
    EXPECT_LE(ms, 2500);
}

// Over TLS the client's side of the tunnel goes through the TLS transport: records both ways.
// A stop drains the worker: an open tunnel is closed at graceful_timeout.
TEST(ProxyTunnel, WorksOverTlsAndClosesAtGracefulTimeout) {
    EchoUpstream up;
    ASSERT_TRUE(up.ok());
    Site site("", "", 1);
    TestPki pki(site.dir);
    ASSERT_TRUE(pki.ok() && pki.leaf("www", "DNS:www.test", 1));
    const uint16_t tls_port = free_port();
    write_tls_config(site, tls_port, "graceful_timeout = 1s\n",
                     "proxy = / app\n[upstream app]\nserver = " + up.address() + "\n", 1);
    MinidProcess minid;
    ASSERT_TRUE(minid.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(minid.wait_serving(site.port)) << minid.log();
    TlsClient c(tls_port, site.dir.file("ca.pem"), "www.test");
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(kUpgrade));
    auto head = c.head();
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 101);
    std::string got;
    char buf[65536];
    const auto read_tls_until = [&](const std::string& expect) {
        while (got.find(expect) == std::string::npos) {
            const size_t n = c.read_some(buf, sizeof buf);
            if (n == 0) return false;
            got.append(buf, n);
        }
        return true;
    };
    EXPECT_TRUE(read_tls_until("hello")) << got;
    const std::string big = std::string(100'000, 'y') + "tls-end";
    got.clear();
    ASSERT_TRUE(c.send(big));
    EXPECT_TRUE(read_tls_until("tls-end")) << got.size();
    EXPECT_EQ(got, big);
    const auto heads = up.heads();
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_NE(heads[0].find("\r\nX-Forwarded-Proto: https\r\n"), std::string::npos) << heads[0];
    const auto stop = Clock::now();
    minid.signal(SIGTERM);
    got.clear();
    EXPECT_FALSE(read_tls_until("never sent"));
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stop).count();
    EXPECT_GE(ms, 900) << "the tunnel was closed before graceful_timeout";
    EXPECT_LE(ms, 3000);
    minid.wait_exit();
}

}  // namespace
}  // namespace minid::test
