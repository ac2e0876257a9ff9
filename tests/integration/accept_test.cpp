// Accepting connections: with defer_accept (TCP_DEFER_ACCEPT) a worker only sees a connection once
// its request arrived, and answers it at once; a silent client is still let in after the delay.
// With delayed_ack the first request's ACK waits for the response instead of going out alone.
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

// Sockets the process holds: listeners, the master link, accepted connections.
int socket_count(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return -1;
    int n = 0;
    while (dirent* e = ::readdir(d)) {
        char target[64];
        const std::string link = dir + "/" + e->d_name;
        const ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
        if (len > 0 && std::string(target, static_cast<size_t>(len)).rfind("socket:", 0) == 0) ++n;
    }
    ::closedir(d);
    return n;
}

// A one-worker minid with its worker pid and the worker's settled socket count.
struct OneWorker {
    MinidProcess m;
    pid_t worker = -1;
    int base_sockets = -1;

    void start(const Site& site) {
        ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
        ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
        ASSERT_TRUE(eventually([&] {
            auto kids = children_of(m.pid());
            if (kids.size() == 1) worker = kids[0];
            return kids.size() == 1;
        }));
        // The probe connection of wait_serving is gone once the count settles.
        ASSERT_TRUE(eventually([&] {
            const int a = socket_count(worker);
            std::this_thread::sleep_for(50ms);
            base_sockets = socket_count(worker);
            return a == base_sockets && base_sockets > 0;
        }));
    }
    void stop() {
        m.signal(SIGTERM);
        EXPECT_EQ(m.wait_exit(), 0);
        EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
    }
};

// Sends a GET for hello.txt on `c` and expects one 200 back.
void expect_hello(Client& c) {
    ASSERT_TRUE(c.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto rs = c.read_responses(1, 3s);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].status, 200);
}

TEST(Accept, DeferredConnectionIsSeenWithItsRequestAndAnsweredAtOnce) {
    Site site("", "", 1);  // defer_accept defaults to 1s
    OneWorker w;
    ASSERT_NO_FATAL_FAILURE(w.start(site));
    const pid_t worker = w.worker;
    const int base = w.base_sockets;

    Client silent(site.port);
    ASSERT_TRUE(silent.connected());
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(socket_count(worker), base) << "a connection without data was handed to the worker";

    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(expect_hello(silent));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 500ms) << "the request waited for the accept deferral";
    EXPECT_EQ(socket_count(worker), base + 1);  // kept alive

    // A client that never sends is let in after the deferral (then header_timeout applies).
    Client quiet(site.port);
    ASSERT_TRUE(quiet.connected());
    EXPECT_TRUE(eventually([&] { return socket_count(worker) == base + 2; }, 5s)) << w.m.log();
    w.stop();
}

TEST(Accept, DeferAcceptOffTakesSilentConnectionsAtOnce) {
    Site site("defer_accept = 0", "", 1);
    OneWorker w;
    ASSERT_NO_FATAL_FAILURE(w.start(site));
    const pid_t worker = w.worker;
    const int base = w.base_sockets;
    Client silent(site.port);
    ASSERT_TRUE(silent.connected());
    // Well before the kernel's first SYN-ACK retransmission (1 s), which would let a deferred
    // connection in too.
    EXPECT_TRUE(eventually([&] { return socket_count(worker) == base + 1; }, 700ms));
    ASSERT_NO_FATAL_FAILURE(expect_hello(silent));
    w.stop();
}

// Segments the client sent that the server's kernel has not acknowledged yet.
uint32_t unacked_segments(const Client& c) {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (::getsockopt(c.fd(), IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return 99;
    return ti.tcpi_unacked;
}

// Sends the first line of a request on a fresh connection and looks 10 ms later: true if the
// server's kernel ACKed the segment alone, false if the ACK is still held back. A delayed ACK
// leaves after 40 ms at the soonest, so a look that came later than 30 ms after the send tells
// nothing and is retried (nullopt after 5 tries). The request is then finished and must be
// answered, and by then everything must be acknowledged.
std::optional<bool> first_segment_acked_alone(uint16_t port) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        Client c(port);
        if (!c.connected() || !c.send("GET /hello.txt HTTP/1.1\r\n")) return std::nullopt;
        const auto sent = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(10ms);
        const uint32_t unacked = unacked_segments(c);
        const bool in_time = std::chrono::steady_clock::now() - sent < 30ms;
        EXPECT_TRUE(c.send("Host: x\r\n\r\n"));
        auto rs = c.read_responses(1, 3s);
        EXPECT_EQ(rs.size(), 1u);
        if (rs.size() == 1) EXPECT_EQ(rs[0].status, 200);
        EXPECT_TRUE(eventually([&] { return unacked_segments(c) == 0; }, 1s));
        if (in_time) return unacked == 0;
    }
    return std::nullopt;
}

TEST(Accept, DelayedAckSendsTheFirstRequestsAckWithTheResponseAndReloadCanTurnItOff) {
    Site site("", "", 1);  // delayed_ack defaults to on
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    auto alone = first_segment_acked_alone(site.port);
    ASSERT_TRUE(alone.has_value()) << "this machine was too slow to tell, 5 times";
    EXPECT_FALSE(*alone) << "with delayed_ack = on the first request was ACKed on its own";

    // The listener keeps its setting across a reload, so turning it off must reach it.
    site.write_config("delayed_ack = off", "", 1);
    m.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return m.log().find("reload complete") != std::string::npos; }))
        << m.log();
    alone = first_segment_acked_alone(site.port);
    ASSERT_TRUE(alone.has_value()) << "this machine was too slow to tell, 5 times";
    EXPECT_TRUE(*alone) << "with delayed_ack = off the kernel's quick ACK was still held back";
    m.signal(SIGTERM);
    EXPECT_EQ(m.wait_exit(), 0);
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

}  // namespace
}  // namespace minid::test
