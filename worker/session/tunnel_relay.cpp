// TunnelRelay: one pump for both ways, run after readiness on either side.
#include "worker/session/tunnel_relay.hpp"

#include <sys/epoll.h>

#include <cerrno>

#include "common/log.hpp"

namespace minid {
namespace {

constexpr size_t kWayBuffer = 16 * 1024;
// Reads and writes per way in one pump, before other connections get a turn; level-triggered
// readiness brings the relay back for the rest.
constexpr int kMaxRounds = 8;

}  // namespace

TunnelRelay::TunnelRelay(Owner& owner, Transport& client,
                         std::unique_ptr<http::TunnelPeer> upstream, std::string_view client_early)
    : owner_(owner), client_(client), upstream_(std::move(upstream)) {
    up_.from = &client_;
    up_.to = upstream_.get();
    up_.data.assign(client_early);
    down_.from = upstream_.get();
    down_.to = &client_;
    down_.data.swap(upstream_->leftover);
    upstream_->set_watcher(this);
}

TunnelRelay::~TunnelRelay() {
    stop();
}

void TunnelRelay::stop() {
    stopped_ = true;
    upstream_->set_watcher(nullptr);
    upstream_->close();
}

void TunnelRelay::on_client_io(uint32_t events) noexcept {
    pump();  // level-triggered: the pump tries what each side waits for
    // Hung up both ways (or reset): epoll reports that for as long as the socket is open, so
    // the tunnel cannot wait for the upstream any longer.
    if (!stopped_ && (events & EPOLLHUP)) {
        stop();
        owner_.tunnel_ended(true);
    }
}

void TunnelRelay::on_io(uint32_t events) noexcept {
    if (events & EPOLLERR) {
        // The upstream's socket broke (reset): nothing more can go to it.
        stop();
        owner_.tunnel_ended(true);
        return;
    }
    pump();
}

TunnelRelay::Step TunnelRelay::move(Way& w) {
    for (int round = 0; round < kMaxRounds; ++round) {
        if (w.pending() > 0) {
            const iovec iov{w.data.data() + w.off, w.pending()};
            const IoResult r = w.to->write(&iov, 1, false);
            if (r.kind == IoResult::Kind::would_block) return Step::open;
            if (r.kind != IoResult::Kind::done) {
                if (r.error != EPIPE && r.error != ECONNRESET)
                    log::debug(sys_error("send", "tunnel", r.error));
                return Step::broken;
            }
            w.off += r.bytes;
            w.moved += r.bytes;
            continue;
        }
        w.data.clear();
        w.off = 0;
        if (w.eof) {
            if (!w.shut) {
                // Everything the source sent is delivered: pass its end on.
                w.shut = true;
                w.to->shutdown_write();
            }
            return Step::open;
        }
        w.data.resize(kWayBuffer);
        const IoResult r = w.from->read(w.data.data(), kWayBuffer);
        if (r.kind == IoResult::Kind::done) {
            w.data.resize(r.bytes);
            continue;
        }
        w.data.clear();
        if (r.kind == IoResult::Kind::would_block) return Step::open;
        if (r.kind == IoResult::Kind::eof) {
            w.eof = true;
            continue;
        }
        if (r.error != ECONNRESET) log::debug(sys_error("read", "tunnel", r.error));
        return Step::broken;
    }
    return Step::open;
}

Transport::Want TunnelRelay::want_of(const Way& reading, const Way& writing) {
    const bool read = !reading.eof && reading.pending() == 0;
    const bool write = writing.pending() > 0;
    if (read && write) return Transport::Want::read_write;
    if (read) return Transport::Want::read;
    if (write) return Transport::Want::write;
    return Transport::Want::nothing;
}

void TunnelRelay::pump() {
    if (stopped_ || pumping_) return;
    pumping_ = true;
    const Step up = move(up_);
    const Step down = up == Step::open ? move(down_) : Step::broken;
    pumping_ = false;
    const uint64_t from_client = up_.moved, to_client = down_.moved;
    up_.moved = down_.moved = 0;
    if (from_client > 0 || to_client > 0) owner_.tunnel_moved(from_client, to_client);
    if (up == Step::broken || down == Step::broken) {
        stop();
        owner_.tunnel_ended(true);
        return;
    }
    if (up_.shut && down_.shut) {
        stop();
        owner_.tunnel_ended(false);
        return;
    }
    // The upstream finished sending and got the client's end: nothing more goes to or comes
    // from it, so it closes now (its hang-up would otherwise be reported again and again)
    // while the rest goes to the client.
    if (down_.eof && up_.shut) upstream_->close();
    Status st = client_.watch(want_of(up_, down_));
    if (st) st = upstream_->watch(want_of(down_, up_));
    if (!st) {
        log::error(st.error());
        stop();
        owner_.tunnel_ended(true);
    }
}

}  // namespace minid
