// UpstreamPool implementation: server choice, the idle list and its expiry, the waiting queue.
#include "worker/proxy/upstream_pool.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include "common/log.hpp"

namespace minid::proxy {
namespace {

// How often idle connections are checked against keepalive_timeout.
constexpr uint64_t kIdleTickMs = 100;
// A server whose connect failed is passed over this long while another one may work.
constexpr uint64_t kAvoidMs = 1000;
// Requests that may wait for a connection slot, per worker and upstream: this many per allowed
// connection, and at least kMinQueue.
constexpr size_t kQueuePerConnection = 4;
constexpr size_t kMinQueue = 64;
// A connection given back less than this long ago (the loop's clock: the same millisecond) is
// reused without the liveness peek. It sat in epoll for EPOLLIN | EPOLLRDHUP since, so a close
// or stray bytes seen by the last epoll_wait already took it out of the pool; only a close in
// the instant since could be missed, and an app's idle timeout is never that short. Under load
// most reuses are such, and the peek was a syscall in every request (an EAGAIN recv).
constexpr uint64_t kTrustedIdleMs = 10;
// keepalive bounds the idle connections kept for long. A burst beyond it (a steady load a little
// above it: 50 clients against keepalive 32 closed and reopened a connection for 15-20% of
// requests, a third of the proxy's CPU) may leave up to this many times as many idle for one
// expiry tick; those still idle then are closed, the oldest first. HAProxy likewise purges
// surplus idle connections progressively (pool-purge-delay).
constexpr uint32_t kBurstFactor = 2;

Result<UpstreamAddress> resolve(const ListenAddress& a) {
    UpstreamAddress out;
    out.text = a.to_string();
    switch (a.kind) {
        case ListenAddress::Kind::unix_path: {
            auto* un = reinterpret_cast<sockaddr_un*>(&out.addr);
            if (a.host.size() >= sizeof un->sun_path)
                return make_error("upstream server " + out.text + ": path too long");
            un->sun_family = AF_UNIX;
            std::memcpy(un->sun_path, a.host.data(), a.host.size());
            out.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + a.host.size() + 1);
            return out;
        }
        case ListenAddress::Kind::inet: {
            auto* in = reinterpret_cast<sockaddr_in*>(&out.addr);
            in->sin_family = AF_INET;
            in->sin_port = htons(a.port);
            if (::inet_pton(AF_INET, a.host.c_str(), &in->sin_addr) != 1)
                return make_error("upstream server " + out.text + ": not an IPv4 address");
            out.len = sizeof(sockaddr_in);
            return out;
        }
        case ListenAddress::Kind::inet6: {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(a.port);
            if (::inet_pton(AF_INET6, a.host.c_str(), &in6->sin6_addr) != 1)
                return make_error("upstream server " + out.text + ": not an IPv6 address");
            out.len = sizeof(sockaddr_in6);
            return out;
        }
    }
    return make_error("upstream server " + out.text + ": unknown address kind");
}

}  // namespace

Result<std::unique_ptr<UpstreamPool>> UpstreamPool::create(const UpstreamSettings& settings,
                                                           IoPoller& poller, uv_loop_t* loop) {
    std::unique_ptr<UpstreamPool> p(new UpstreamPool(settings, poller, loop));
    for (const ListenAddress& a : settings.servers) {
        auto addr = resolve(a);
        if (!addr) return make_error("[upstream " + settings.name + "] " + addr.error());
        p->servers_.push_back({std::move(addr).value(), 0, 0, {}});
    }
    if (p->servers_.empty()) return make_error("[upstream " + settings.name + "] has no server");
    uv_timer_init(loop, p->idle_timer_.make());
    p->idle_timer_.get()->data = p.get();
    return p;
}

UpstreamPool::~UpstreamPool() {
    for (Server& s : servers_) s.idle.clear();
}

size_t UpstreamPool::pick_server() {
    const uint64_t now = uv_now(loop_);
    const size_t n = servers_.size();
    size_t best = n;
    for (int pass = 0; pass < 2 && best == n; ++pass) {
        for (size_t k = 0; k < n; ++k) {
            const size_t i = (next_ + k) % n;
            const Server& s = servers_[i];
            if (pass == 0 && s.avoid_until_ms > now) continue;
            if (best == n || s.outstanding < servers_[best].outstanding) best = i;
        }
    }
    next_ = (best + 1) % n;
    return best;
}

UpstreamPool::Take UpstreamPool::take(Waiter& w, bool fresh, Lease& lease) {
    lease = {};
    const size_t server = pick_server();
    Server& s = servers_[server];
    if (!fresh) {
        // The most recently used first: the least likely to be closing.
        while (!s.idle.empty()) {
            std::unique_ptr<UpstreamConnection> c = std::move(s.idle.back());
            s.idle.pop_back();
            --idle_;
            const bool fresh_from_use = uv_now(loop_) - c->idle_since_ms < kTrustedIdleMs;
            if (!fresh_from_use && !c->looks_alive()) {
                --open_;
                continue;  // closes it
            }
            c->set_idle_handler(nullptr, nullptr);
            ++s.outstanding;
            lease.conn = std::move(c);
            lease.reused = true;
            lease.start = UpstreamConnection::Start::connected;
            return Take::ok;
        }
    }
    const uint32_t max = settings_.max_connections;
    if (max != 0 && open_ >= max) {
        // An idle connection to another server makes room for this one.
        for (Server& other : servers_) {
            if (other.idle.empty()) continue;
            other.idle.erase(other.idle.begin());
            --idle_;
            --open_;
            break;
        }
    }
    if (max != 0 && open_ >= max) {
        if (waiters_.size() >= std::max(kMinQueue, kQueuePerConnection * max)) {
            ++counters.queue_full;
            return Take::full;
        }
        waiters_.push_back(&w);
        return Take::queued;
    }
    lease.conn = UpstreamConnection::connect(s.address, server, poller_, &lease.start);
    ++open_;
    ++s.outstanding;
    return Take::ok;
}

void UpstreamPool::forget(Waiter& w) {
    auto it = std::find(waiters_.begin(), waiters_.end(), &w);
    if (it != waiters_.end()) waiters_.erase(it);
}

void UpstreamPool::give_back(std::unique_ptr<UpstreamConnection> c, bool reusable) {
    Server& s = servers_[c->server()];
    if (s.outstanding > 0) --s.outstanding;
    c->set_user(nullptr);
    if (!reusable || draining_ || idle_ >= kBurstFactor * settings_.keepalive) {
        close_connection(std::move(c));
        return;
    }
    // Watched while idle: the app closing it (or sending what nobody asked for) ends it at once,
    // so the next request does not find it half-closed.
    if (!c->watch(EPOLLIN | EPOLLRDHUP)) {
        close_connection(std::move(c));
        return;
    }
    c->idle_since_ms = uv_now(loop_);
    c->set_idle_handler(&UpstreamPool::on_idle_event, this);
    s.idle.push_back(std::move(c));
    ++idle_;
    start_idle_timer();
    wake_waiter();
}

void UpstreamPool::connect_failed(std::unique_ptr<UpstreamConnection> c) {
    Server& s = servers_[c->server()];
    if (s.outstanding > 0) --s.outstanding;
    if (servers_.size() > 1) s.avoid_until_ms = uv_now(loop_) + kAvoidMs;
    ++counters.connect_errors;
    close_connection(std::move(c));
}

void UpstreamPool::close_connection(std::unique_ptr<UpstreamConnection> c) {
    c.reset();
    --open_;
    wake_waiter();
}

void UpstreamPool::wake_waiter() {
    if (waiters_.empty()) return;
    Waiter* w = waiters_.front();
    waiters_.pop_front();
    w->on_slot_free();
}

void UpstreamPool::on_idle_event(void* ctx, UpstreamConnection& c) noexcept {
    auto* pool = static_cast<UpstreamPool*>(ctx);
    Server& s = pool->servers_[c.server()];
    auto it =
        std::find_if(s.idle.begin(), s.idle.end(), [&](const auto& p) { return p.get() == &c; });
    if (it == s.idle.end()) return;
    std::unique_ptr<UpstreamConnection> gone = std::move(*it);
    s.idle.erase(it);
    --pool->idle_;
    pool->close_connection(std::move(gone));
}

void UpstreamPool::start_idle_timer() {
    if (uv_is_active(idle_timer_.base())) return;
    uv_timer_start(
        idle_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* p = static_cast<UpstreamPool*>(t->data)) p->expire_idle();
        },
        kIdleTickMs, kIdleTickMs);
}

void UpstreamPool::expire_idle() {
    const uint64_t now = uv_now(loop_);
    const auto timeout = static_cast<uint64_t>(settings_.keepalive_timeout.count());
    for (Server& s : servers_) {
        while (!s.idle.empty() && now - s.idle.front()->idle_since_ms >= timeout) {
            s.idle.erase(s.idle.begin());
            --idle_;
            --open_;
        }
    }
    // A burst's surplus beyond keepalive, idle for a tick at least.
    for (Server& s : servers_) {
        while (idle_ > settings_.keepalive && !s.idle.empty() &&
               now - s.idle.front()->idle_since_ms >= kIdleTickMs) {
            s.idle.erase(s.idle.begin());
            --idle_;
            --open_;
        }
    }
    if (idle_ == 0) uv_timer_stop(idle_timer_.get());
    wake_waiter();
}

void UpstreamPool::drain() {
    draining_ = true;
    for (Server& s : servers_) {
        open_ -= s.idle.size();
        s.idle.clear();
    }
    idle_ = 0;
    uv_timer_stop(idle_timer_.get());
}

}  // namespace minid::proxy
