// Listener implementation. Accepting a bounded batch per wakeup keeps one worker from taking every
// connection in a burst, which spreads load across workers that share the socket.
#include "worker/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "common/log.hpp"

namespace minid {
namespace {
constexpr int kAcceptBatch = 16;
constexpr uint64_t kEmfileRetryMs = 100;
// Long enough for a sibling that was woken for the same connection to take it, short enough
// that deferring never shows up as latency.
constexpr uint64_t kDeferMs = 1;
constexpr int kMaxDeferrals = 3;

// Descriptors kept free for opening files (and log reopening) on connections already accepted:
// 1/16 of the limit, at least 4 and at most 64.
int fd_high_water() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY ||
        lim.rlim_cur > static_cast<rlim_t>(INT_MAX))
        return INT_MAX;
    const int limit = static_cast<int>(lim.rlim_cur);
    return limit - std::clamp(limit / 16, 4, 64);
}
}  // namespace

Result<std::unique_ptr<Listener>> Listener::create(uv_loop_t* loop, IoPoller& poller, UniqueFd fd,
                                                   std::string name, uint64_t defer_accept_ms,
                                                   AcceptFn on_accept, DeferFn defer) {
    std::unique_ptr<Listener> l(new Listener(poller));
    l->fd_ = std::move(fd);
    l->name_ = std::move(name);
    l->on_accept_ = std::move(on_accept);
    l->defer_ = std::move(defer);

    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(l->fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return make_error(sys_error("getsockname", "listener " + l->name_, errno));
    l->is_tcp_ = addr.ss_family == AF_INET || addr.ss_family == AF_INET6;
    // The master made the socket non-blocking and set TCP_NODELAY and TCP_DEFER_ACCEPT on it
    // (ListenSockets::apply_options); only the last matters here.
    l->defers_accept_ = l->is_tcp_ && defer_accept_ms > 0;
    l->fd_high_water_ = fd_high_water();

    uv_timer_t* t = l->retry_.make();
    uv_timer_init(loop, t);
    t->data = l.get();
    return l;
}

Listener::~Listener() {
    close();
}

void Listener::resume() {
    if (closed_ || active_) return;
    if (auto st = poller_.add(fd_.get(), EPOLLIN, this); !st) {
        log::error("polling listener ", name_, ": ", st.error());
        return;
    }
    active_ = true;
}

void Listener::pause() {
    // A pending retry must not resume a listener the server paused (at its connection cap).
    if (retry_) uv_timer_stop(retry_.get());
    if (!active_) return;
    // Removed rather than masked: epoll reports EPOLLERR/EPOLLHUP even with no events asked.
    if (auto st = poller_.remove(fd_.get()); !st)
        log::error("pausing listener ", name_, ": ", st.error());
    poller_.forget(this);
    active_ = false;
}

void Listener::close() {
    if (closed_) return;
    pause();
    closed_ = true;
    retry_.close();
    fd_.reset();
}

void Listener::on_io(uint32_t events) noexcept {
    if (events & EPOLLERR) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        log::error(sys_error("polling", "listener " + name_, err));
        pause_for(kEmfileRetryMs);  // level-triggered: do not spin on a broken socket
        return;
    }
    accept_batch();
}

void Listener::pause_for(uint64_t ms) {
    pause();
    uv_timer_start(
        retry_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* l = static_cast<Listener*>(t->data)) l->resume();
        },
        ms, 0);
}

bool Listener::fds_nearly_exhausted() const {
    // Linux hands out the lowest free descriptor, so its number tells how full the table is.
    UniqueFd probe(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
    return !probe || probe.get() >= fd_high_water_;
}

void Listener::report_fd_shortage(const std::string& why) {
    if (!emfile_reported_) {
        log::error(why, "; pausing accepts, retrying every ", kEmfileRetryMs, " ms");
        emfile_reported_ = true;
    }
    fd_pressure_ = true;
    pause_for(kEmfileRetryMs);
}

void Listener::accept_batch() {
    for (int i = 0; i < kAcceptBatch && active_; ++i) {
        if (fd_pressure_) {
            if (fds_nearly_exhausted()) {
                report_fd_shortage("file descriptors nearly exhausted on listener " + name_ +
                                   " (the rest are kept for serving open connections)");
                return;
            }
            fd_pressure_ = false;
        }
        // A few short deferrals at most: if the sibling does not take the connection by then
        // (its loop is busy), this worker takes it rather than let the client wait.
        if (defer_ && deferrals_ < kMaxDeferrals && defer_()) {
            ++deferrals_;
            // Level-triggered: staying armed would spin until the sibling accepts.
            pause_for(kDeferMs);
            return;
        }
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            switch (errno) {
                case EAGAIN:
                    return;  // Another worker took it, or the queue is empty.
                case EINTR:
                case ECONNABORTED:
                case EPROTO:
                    continue;
                case EMFILE:
                case ENFILE:
                case ENOBUFS:
                case ENOMEM:
                    // The connection waits in the kernel queue; stop polling for a moment instead
                    // of waking up for it in a busy loop, and keep serving what we have.
                    report_fd_shortage(sys_error("accept4", "listener " + name_, errno));
                    return;
                default:
                    log::error(sys_error("accept4", "listener " + name_, errno));
                    return;
            }
        }
        if (emfile_reported_) {
            log::notice("accepting on ", name_, " again");
            emfile_reported_ = false;
        }
        deferrals_ = 0;
        // This connection is served; the next accept checks the reserve first.
        if (fd >= fd_high_water_) fd_pressure_ = true;
        on_accept_(UniqueFd(fd), peer, defers_accept_);
    }
}

}  // namespace minid
