// Tests for TunnelRelay: bytes both ways (early client bytes and the upstream's leftover
// first), back-pressure (no reading from a side while the other cannot take its bytes),
// half-closes passed on in order, and a broken side ending the tunnel.
#include "worker/session/tunnel_relay.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <memory>
#include <string>

#include "tests/unit/worker/session/fake_transport.hpp"

namespace minid {
namespace {

using testing::FakeTransport;
using Want = Transport::Want;

// The upstream end: a FakeTransport as a TunnelPeer; the test plays its readiness.
class FakePeer final : public http::TunnelPeer {
  public:
    explicit FakePeer(FakeTransport::Record& r) : t_(r) {}
    void set_watcher(IoPoller::Watcher* w) override { watcher = w; }
    IoResult read(char* buf, size_t len) override { return t_.read(buf, len); }
    IoResult write(const iovec* iov, int count, bool more) override {
        return t_.write(iov, count, more);
    }
    IoResult send_file(int fd, uint64_t off, size_t len) override {
        return t_.send_file(fd, off, len);
    }
    bool shutdown_write() override { return t_.shutdown_write(); }
    void abort() override { t_.abort(); }
    void close() override { t_.close(); }
    Status watch(Want w) override { return t_.watch(w); }
    bool has_buffered_input() const override { return false; }
    uint64_t unsent_bytes() const override { return 0; }

    IoPoller::Watcher* watcher = nullptr;

  private:
    FakeTransport t_;
};

struct Recorder final : TunnelRelay::Owner {
    void tunnel_moved(uint64_t from, uint64_t to) noexcept override {
        from_client += from;
        to_client += to;
    }
    void tunnel_ended(bool b) noexcept override {
        ended = true;
        broken = b;
    }
    uint64_t from_client = 0;
    uint64_t to_client = 0;
    bool ended = false;
    bool broken = false;
};

struct Fixture {
    FakeTransport::Record client_rec, up_rec;
    FakeTransport client{client_rec};
    FakePeer* peer = nullptr;
    Recorder owner;
    std::unique_ptr<TunnelRelay> relay;

    Fixture(std::string_view early, std::string leftover) {
        auto p = std::make_unique<FakePeer>(up_rec);
        p->leftover = std::move(leftover);
        p->idle_timeout_ms = 1234;
        peer = p.get();
        relay = std::make_unique<TunnelRelay>(owner, client, std::move(p), early);
    }
    void upstream_ready() { peer->watcher->on_io(EPOLLIN | EPOLLOUT); }
};

TEST(TunnelRelay, EarlyBytesAndLeftoverGoFirstThenBothWays) {
    Fixture f("early", "hello");
    EXPECT_EQ(f.relay->idle_timeout_ms(), 1234u);
    f.relay->start();
    EXPECT_EQ(f.up_rec.written, "early");
    EXPECT_EQ(f.client_rec.written, "hello");
    EXPECT_EQ(f.client_rec.want, Want::read);
    EXPECT_EQ(f.up_rec.want, Want::read);
    f.client_rec.input = "ping";
    f.relay->on_client_io(EPOLLIN);
    EXPECT_EQ(f.up_rec.written, "earlyping");
    f.up_rec.input = "pong";
    f.upstream_ready();
    EXPECT_EQ(f.client_rec.written, "hellopong");
    EXPECT_EQ(f.owner.from_client, 9u);
    EXPECT_EQ(f.owner.to_client, 9u);
    EXPECT_FALSE(f.owner.ended);
}

TEST(TunnelRelay, ASlowSideStopsReadingFromTheOther) {
    Fixture f("", "");
    f.up_rec.room = 3;
    f.relay->start();
    f.client_rec.input = "abcdefgh";
    f.relay->on_client_io(EPOLLIN);
    EXPECT_EQ(f.up_rec.written, "abc");
    // The client's bytes wait: it is not read, the upstream is waited on for room.
    EXPECT_EQ(f.client_rec.want, Want::nothing);
    EXPECT_EQ(f.up_rec.want, Want::read_write);
    f.client_rec.input = "more";
    const int reads = f.client_rec.reads;
    f.relay->on_client_io(EPOLLIN);
    EXPECT_EQ(f.client_rec.reads, reads) << "read while the upstream had no room";
    f.up_rec.room = SIZE_MAX;
    f.upstream_ready();
    EXPECT_EQ(f.up_rec.written, "abcdefghmore");
    EXPECT_EQ(f.client_rec.want, Want::read);
}

TEST(TunnelRelay, HalfClosesPassOnAndBothEndsFinish) {
    Fixture f("", "");
    f.relay->start();
    f.client_rec.input = "last words";
    f.client_rec.peer_eof = true;
    f.relay->on_client_io(EPOLLIN);
    EXPECT_EQ(f.up_rec.written, "last words");
    EXPECT_TRUE(f.up_rec.shut_down);
    EXPECT_FALSE(f.client_rec.shut_down);
    EXPECT_FALSE(f.owner.ended);
    f.up_rec.input = "reply";
    f.up_rec.peer_eof = true;
    f.upstream_ready();
    EXPECT_EQ(f.client_rec.written, "reply");
    EXPECT_TRUE(f.client_rec.shut_down);
    EXPECT_TRUE(f.owner.ended);
    EXPECT_FALSE(f.owner.broken);
    EXPECT_TRUE(f.up_rec.closed);
}

TEST(TunnelRelay, TheUpstreamClosingFirstWaitsForTheClient) {
    Fixture f("", "");
    f.relay->start();
    f.up_rec.peer_eof = true;
    f.upstream_ready();
    EXPECT_TRUE(f.client_rec.shut_down);
    EXPECT_FALSE(f.owner.ended);
    f.client_rec.peer_eof = true;
    f.relay->on_client_io(EPOLLIN);
    EXPECT_TRUE(f.owner.ended);
    EXPECT_FALSE(f.owner.broken);
}

TEST(TunnelRelay, ABrokenSideEndsTheTunnel) {
    Fixture f("", "");
    f.relay->start();
    f.client_rec.write_error = ECONNRESET;
    f.up_rec.input = "to nobody";
    f.upstream_ready();
    EXPECT_TRUE(f.owner.ended);
    EXPECT_TRUE(f.owner.broken);
    EXPECT_TRUE(f.up_rec.closed);
    // Nothing happens after the end.
    f.owner.ended = false;
    f.relay->on_client_io(EPOLLIN);
    EXPECT_FALSE(f.owner.ended);
}

TEST(TunnelRelay, AnUpstreamErrorEndsTheTunnel) {
    Fixture f("", "");
    f.relay->start();
    f.peer->watcher->on_io(EPOLLERR);
    EXPECT_TRUE(f.owner.ended);
    EXPECT_TRUE(f.owner.broken);
}

}  // namespace
}  // namespace minid
