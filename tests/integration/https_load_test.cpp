// HTTPS under load and abuse, with the real binary: 20 reloads under TLS keep-alive load with no
// failed request, a 100 MiB file to a slow TLS reader, byte-exact, and 1000 half-open handshakes
// that neither stop normal clients nor outlive header_timeout.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.hpp"
#include "integration/tls_clients.hpp"

namespace minid::test {
namespace {

using Clock = std::chrono::steady_clock;

// The byte at `offset` of the big test file: not periodic in any short span.
char pattern(uint64_t offset) {
    return static_cast<char>((offset * 2654435761u) >> 13);
}

class HttpsLoad : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(pki_.ok());
        ASSERT_TRUE(pki_.leaf("www", "DNS:www.test", 10));
        tls_port_ = free_port();
    }
    void start(const std::string& extra_http = "", int workers = 2) {
        write_tls_config(site_, tls_port_, "", extra_http, workers);
        ASSERT_TRUE(m_.start({"-c", site_.config_path}, site_.log_path));
        ASSERT_TRUE(m_.wait_serving(site_.port)) << m_.log();
        ASSERT_TRUE(eventually([&] { return served_serial(tls_port_, "www.test") == "0A"; }))
            << m_.log();
    }
    void TearDown() override { stop_expecting_a_clean_exit(m_); }
    std::string ca() const { return site_.dir.file("ca.pem"); }

    Site site_{"", "", 2};
    TestPki pki_{site_.dir};
    uint16_t tls_port_ = 0;
    MinidProcess m_;
};

TEST_F(HttpsLoad, TwentyReloadsUnderTlsKeepAliveLoadFailNothing) {
    start();
    const std::string get = "GET /hello.txt HTTP/1.1\r\nHost: www.test\r\n\r\n";
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> ok{0}, failed{0}, connect_errors{0};
    std::string first_error;
    std::atomic_flag error_lock = ATOMIC_FLAG_INIT;
    auto note = [&](const std::string& why) {
        while (error_lock.test_and_set()) {
        }
        if (first_error.empty()) first_error = why;
        error_lock.clear();
    };
    // Keep-alive clients that never retry: a request without a response is a failure; a
    // response with Connection: close (a draining worker) sends the client to a new connection.
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i)
        clients.emplace_back([&] {
            std::unique_ptr<TlsClient> c;
            while (!stop) {
                if (!c) {
                    c = std::make_unique<TlsClient>(tls_port_, ca(), "www.test");
                    if (!c->ok()) {
                        ++connect_errors;
                        note("handshake failed");
                        c.reset();
                        std::this_thread::sleep_for(10ms);
                        continue;
                    }
                }
                const auto r = c->send(get) ? c->response() : std::nullopt;
                if (!r || r->status != 200 || r->body != "Hello, world!") {
                    ++failed;
                    note(r ? "unexpected response: " + r->status_line
                           : "no response on a keep-alive TLS connection");
                    c.reset();
                    continue;
                }
                ++ok;
                if (r->header("connection") == "close") c.reset();
            }
        });
    std::this_thread::sleep_for(300ms);
    for (unsigned i = 1; i <= 20; ++i) {
        m_.signal(SIGHUP);
        ASSERT_TRUE(eventually([&] { return count_of(m_.log(), "reload complete") >= i; }, 20s))
            << "reload " << i << " did not complete\n"
            << m_.log();
        std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(500ms);
    stop = true;
    for (auto& t : clients) t.join();
    EXPECT_EQ(failed.load(), 0u) << first_error;
    EXPECT_EQ(connect_errors.load(), 0u) << first_error;
    EXPECT_GT(ok.load(), 500u);
    std::cout << "[          ] " << ok.load() << " TLS requests, " << failed.load()
              << " failed across 20 reloads\n";
}

TEST_F(HttpsLoad, HundredMebibytesToASlowTlsReaderArriveByteExact) {
    constexpr uint64_t kSize = 100ull << 20;
    {
        std::string chunk(1 << 20, '\0');
        site_.dir.write("www/big.bin", "");
        FILE* f = std::fopen(site_.dir.file("www/big.bin").c_str(), "wb");
        ASSERT_NE(f, nullptr);
        for (uint64_t off = 0; off < kSize; off += chunk.size()) {
            for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = pattern(off + i);
            ASSERT_EQ(std::fwrite(chunk.data(), 1, chunk.size(), f), chunk.size());
        }
        std::fclose(f);
    }
    // The default send_timeout and min_send_rate (512 B/s) hold: this reader is slow, not stuck.
    start();
    TlsClient c(tls_port_, ca(), "www.test", 64 * 1024);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send("GET /big.bin HTTP/1.1\r\nHost: www.test\r\n\r\n"));
    const auto head = c.head();
    ASSERT_TRUE(head);
    ASSERT_EQ(head->status, 200);
    ASSERT_EQ(head->header("content-length"), std::to_string(kSize));
    const auto t0 = Clock::now();
    uint64_t got = 0;
    char buf[16384];
    uint64_t mismatch = kSize;
    while (got < kSize) {
        const size_t n = c.read_some(buf, std::min<uint64_t>(sizeof buf, kSize - got));
        if (n == 0) break;
        for (size_t i = 0; i < n && mismatch == kSize; ++i)
            if (buf[i] != pattern(got + i)) mismatch = got + i;
        got += n;
        // A slow reader: 10 ms of pause after every 256 KiB (400 pauses).
        if ((got >> 18) != ((got - n) >> 18)) std::this_thread::sleep_for(10ms);
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_EQ(got, kSize) << "the response was cut\n" << m_.log();
    EXPECT_EQ(mismatch, kSize) << "first wrong byte at offset " << mismatch;
    std::cout << "[          ] 100 MiB over TLS to a slow reader in " << secs << " s ("
              << static_cast<double>(got) / secs / 1e6 << " MB/s)\n";
    // The connection is still good for another request.
    ASSERT_TRUE(c.send("GET /hello.txt HTTP/1.1\r\nHost: www.test\r\n\r\n"));
    const auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "Hello, world!");
}

TEST_F(HttpsLoad, AThousandHalfOpenHandshakesNeitherStopOthersNorOutliveHeaderTimeout) {
    // 2 s for the first request, the handshake included; the accept of a silent connection
    // waits for defer_accept (1 s) first.
    start("header_timeout = 2s\n");
    rlimit nofile{};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    ASSERT_GE(nofile.rlim_cur, 1200u) << "the test needs 1000 sockets of its own";
    // Half silent, half with the first 60 bytes of a ClientHello (a record announcing 512).
    const std::string partial =
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(49, '\x07');
    std::vector<int> fds;
    const auto t0 = Clock::now();
    for (int i = 0; i < 1000; ++i) {
        const int fd = connect_tcp(tls_port_);
        ASSERT_GE(fd, 0) << "connection " << i;
        if (i % 2 == 1)
            ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
                      static_cast<ssize_t>(partial.size()));
        fds.push_back(fd);
    }
    // Normal clients are served meanwhile, promptly.
    double slowest = 0;
    for (int i = 0; i < 10; ++i) {
        const auto s = Clock::now();
        const auto r = curl_https(site_.dir, tls_port_, "www.test", "/hello.txt");
        slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - s).count());
        EXPECT_NE(r.output.find("Hello, world!"), std::string::npos) << r.output;
    }
    EXPECT_LT(slowest, 1.0) << "a normal client waited behind the half-open handshakes";
    // Every half-open one is cut: none before header_timeout, all within it plus the accept
    // delay and the 250 ms sweep (and some slack for a busy machine).
    size_t closed = 0;
    double first_close = 1e9;
    std::vector<bool> done(fds.size(), false);
    while (closed < fds.size() && Clock::now() - t0 < 15s) {
        for (size_t i = 0; i < fds.size(); ++i) {
            if (done[i]) continue;
            char b[256];
            const ssize_t n = ::recv(fds[i], b, sizeof b, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                done[i] = true;
                ++closed;
                first_close =
                    std::min(first_close, std::chrono::duration<double>(Clock::now() - t0).count());
            }
        }
        std::this_thread::sleep_for(50ms);
    }
    const double all_closed = std::chrono::duration<double>(Clock::now() - t0).count();
    for (int fd : fds) ::close(fd);
    EXPECT_EQ(closed, fds.size());
    EXPECT_GE(first_close, 1.9) << "cut before header_timeout";
    EXPECT_LT(all_closed, 8.0);
    std::cout << "[          ] 1000 half-open handshakes: first cut at " << first_close
              << " s, all by " << all_closed << " s; slowest normal client " << slowest << " s\n";
    // And the server is fine afterwards.
    const auto r = curl_https(site_.dir, tls_port_, "www.test", "/hello.txt");
    EXPECT_NE(r.output.find("Hello, world!"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace minid::test
