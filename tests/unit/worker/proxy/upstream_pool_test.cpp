// Tests for UpstreamPool over real unix sockets (a unix connect completes at once, so no loop
// has to run): reuse of idle connections, the liveness check, the keepalive bound,
// max_connections with its queue, a refused connect, drain, and balancing over servers.
#include "worker/proxy/upstream_pool.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace minid::proxy {
namespace {

// A unix listener in a fresh directory; accepts on request.
class Listener {
  public:
    explicit Listener(const std::string& path) : path_(path) {
        fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(fd_.get(), 64), 0);
    }
    UniqueFd accept() { return UniqueFd(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC)); }

  private:
    std::string path_;
    UniqueFd fd_;
};

struct Waiter final : UpstreamPool::Waiter {
    void on_slot_free() noexcept override { ++woken; }
    int woken = 0;
};

class UpstreamPoolTest : public ::testing::Test {
  protected:
    UpstreamPoolTest() {
        char tmpl[] = "/tmp/minid-pool-test-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        uv_loop_init(&loop_);
        poller_ = IoPoller::create(&loop_, std::chrono::microseconds(0)).value();
    }
    ~UpstreamPoolTest() override {
        pool_.reset();
        poller_.reset();
        uv_run(&loop_, UV_RUN_NOWAIT);
        uv_loop_close(&loop_);
        std::string cmd = "rm -rf " + dir_;
        if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << cmd;
    }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    UpstreamPool& make(std::vector<std::string> socks, uint32_t keepalive = 32,
                       uint32_t max_connections = 0) {
        UpstreamSettings u;
        u.name = "app";
        for (const std::string& s : socks)
            u.servers.push_back({ListenAddress::Kind::unix_path, path(s), 0});
        u.keepalive = keepalive;
        u.max_connections = max_connections;
        pool_ = UpstreamPool::create(u, *poller_, &loop_).value();
        return *pool_;
    }
    // Lets the loop's clock move on by `ms` (the pool reads uv_now).
    void pass(int ms) {
        ::usleep(static_cast<useconds_t>(ms) * 1000);
        uv_update_time(&loop_);
    }
    UpstreamPool::Lease take(UpstreamPool& p, bool fresh = false) {
        UpstreamPool::Lease l;
        EXPECT_EQ(p.take(waiter_, fresh, l), UpstreamPool::Take::ok);
        return l;
    }

    std::string dir_;
    uv_loop_t loop_{};
    std::unique_ptr<IoPoller> poller_;
    std::unique_ptr<UpstreamPool> pool_;
    Waiter waiter_;
};

TEST_F(UpstreamPoolTest, ReusesALiveIdleConnectionAndDropsADeadOne) {
    Listener app(path("a.sock"));
    UpstreamPool& p = make({"a.sock"});
    UpstreamPool::Lease l = take(p);
    ASSERT_TRUE(l.conn);
    EXPECT_EQ(l.start, UpstreamConnection::Start::connected);
    EXPECT_FALSE(l.reused);
    UniqueFd server_side = app.accept();
    const int fd = l.conn->fd();
    p.give_back(std::move(l.conn), true);
    EXPECT_EQ(p.open_connections(), 1u);
    EXPECT_EQ(p.idle_connections(), 1u);

    l = take(p);
    EXPECT_TRUE(l.reused);
    EXPECT_EQ(l.conn->fd(), fd);
    EXPECT_EQ(p.idle_connections(), 0u);
    p.give_back(std::move(l.conn), true);

    server_side.reset();  // the app closes its end: the peek sees EOF
    // (Given back less than 10 ms ago a connection is not peeked at: it was in epoll all the
    // while, and the close's event takes it out of the pool.)
    pass(15);
    l = take(p);
    EXPECT_FALSE(l.reused) << "a closed connection is never reused";
    EXPECT_EQ(p.open_connections(), 1u);
    p.give_back(std::move(l.conn), false);
    EXPECT_EQ(p.open_connections(), 0u);
    EXPECT_EQ(p.idle_connections(), 0u) << "not reusable: closed";
}

TEST_F(UpstreamPoolTest, AFreshTakeSkipsIdleConnections) {
    Listener app(path("a.sock"));
    UpstreamPool& p = make({"a.sock"});
    UpstreamPool::Lease l = take(p);
    p.give_back(std::move(l.conn), true);
    l = take(p, true);
    EXPECT_FALSE(l.reused);
    EXPECT_EQ(p.open_connections(), 2u);
    p.give_back(std::move(l.conn), false);
}

TEST_F(UpstreamPoolTest, KeepsAtMostKeepaliveIdleConnections) {
    Listener app(path("a.sock"));
    UpstreamPool& p = make({"a.sock"}, 1);
    UpstreamPool::Lease a = take(p);
    UpstreamPool::Lease b = take(p);
    UpstreamPool::Lease c = take(p);
    p.give_back(std::move(a.conn), true);
    p.give_back(std::move(b.conn), true);
    p.give_back(std::move(c.conn), true);
    // A burst: up to twice keepalive stay idle for a moment, beyond that they close at once.
    EXPECT_EQ(p.idle_connections(), 2u);
    EXPECT_EQ(p.open_connections(), 2u);
    // The surplus still idle after an expiry tick (100 ms) is closed.
    pass(150);
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(p.idle_connections(), 1u);
    EXPECT_EQ(p.open_connections(), 1u);
    p.drain();
    EXPECT_EQ(p.idle_connections(), 0u);
    EXPECT_EQ(p.open_connections(), 0u);
    UpstreamPool::Lease d = take(p);
    p.give_back(std::move(d.conn), true);
    EXPECT_EQ(p.idle_connections(), 0u) << "a draining pool keeps nothing";
}

TEST_F(UpstreamPoolTest, MaxConnectionsQueuesAndBoundsTheQueue) {
    Listener app(path("a.sock"));
    UpstreamPool& p = make({"a.sock"}, 32, 1);
    UpstreamPool::Lease a = take(p);
    std::vector<Waiter> waiters(64);
    UpstreamPool::Lease none;
    for (Waiter& w : waiters) EXPECT_EQ(p.take(w, false, none), UpstreamPool::Take::queued);
    Waiter late;
    EXPECT_EQ(p.take(late, false, none), UpstreamPool::Take::full);
    EXPECT_EQ(p.counters.queue_full, 1u);
    p.forget(waiters[0]);
    p.give_back(std::move(a.conn), true);
    EXPECT_EQ(waiters[0].woken, 0) << "forgotten";
    EXPECT_EQ(waiters[1].woken, 1) << "the first one still waiting gets the free slot";
    UpstreamPool::Lease b;
    EXPECT_EQ(p.take(waiters[1], false, b), UpstreamPool::Take::ok);
    EXPECT_TRUE(b.reused);
    p.give_back(std::move(b.conn), false);
    for (size_t i = 2; i < waiters.size(); ++i) p.forget(waiters[i]);
}

TEST_F(UpstreamPoolTest, ARefusedConnectIsCountedAndItsServerPassedOver) {
    Listener b_app(path("b.sock"));
    UpstreamPool& p = make({"missing.sock", "b.sock"});
    UpstreamPool::Lease l = take(p);
    ASSERT_EQ(l.start, UpstreamConnection::Start::failed);
    EXPECT_EQ(l.conn->error(), ENOENT);
    p.connect_failed(std::move(l.conn));
    EXPECT_EQ(p.counters.connect_errors, 1u);
    EXPECT_EQ(p.open_connections(), 0u);
    for (int i = 0; i < 3; ++i) {
        UpstreamPool::Lease ok = take(p);
        EXPECT_EQ(ok.start, UpstreamConnection::Start::connected) << "b, while a is avoided";
        p.give_back(std::move(ok.conn), false);
    }
}

TEST_F(UpstreamPoolTest, SpreadsRequestsInFlightOverServers) {
    Listener a_app(path("a.sock"));
    Listener b_app(path("b.sock"));
    UpstreamPool& p = make({"a.sock", "b.sock"});
    UpstreamPool::Lease x = take(p);
    UpstreamPool::Lease y = take(p);
    EXPECT_NE(x.conn->server(), y.conn->server()) << "fewest outstanding first";
    p.give_back(std::move(x.conn), false);
    UpstreamPool::Lease z = take(p);
    EXPECT_NE(z.conn->server(), y.conn->server()) << "the idle server, not the busy one";
    p.give_back(std::move(y.conn), false);
    p.give_back(std::move(z.conn), false);
}

}  // namespace
}  // namespace minid::proxy
