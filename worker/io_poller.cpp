// IoPoller implementation: the worker's main loop. libuv is embedded the way uv_backend_fd() and
// uv_backend_timeout() are meant for, so socket events reach their handlers through one
// epoll_wait instead of libuv's epoll plus a nested one.
#include "worker/io_poller.hpp"

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "common/log.hpp"
#include "common/usable_cpus.hpp"

namespace minid {
namespace {
// epoll data for libuv's backend fd: not a Watcher.
char uv_backend_tag;

int64_t monotonic_ns() {
    timespec t;
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}
}  // namespace

std::optional<long> running_tasks_from_loadavg(std::string_view text) {
    const size_t slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    size_t start = slash;
    while (start > 0 && text[start - 1] >= '0' && text[start - 1] <= '9') --start;
    if (start == slash || slash - start > 9) return std::nullopt;
    long running = 0;
    for (size_t i = start; i < slash; ++i) running = running * 10 + (text[i] - '0');
    return running;
}

std::optional<long> read_running_tasks(int loadavg_fd) {
    char buf[128];
    const ssize_t n = ::pread(loadavg_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return std::nullopt;
    return running_tasks_from_loadavg(std::string_view(buf, static_cast<size_t>(n)));
}

Result<std::unique_ptr<IoPoller>> IoPoller::create(uv_loop_t* loop,
                                                   std::chrono::microseconds busy_poll,
                                                   const char* loadavg) {
    std::unique_ptr<IoPoller> p(new IoPoller(loop, busy_poll));
    p->epfd_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!p->epfd_) return make_error(sys_error("epoll_create1", "worker poller", errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &uv_backend_tag;
    if (::epoll_ctl(p->epfd_.get(), EPOLL_CTL_ADD, uv_backend_fd(loop), &ev) != 0)
        return make_error(sys_error("epoll_ctl(ADD)", "libuv's epoll fd", errno));
    // Without the count a poller holds its CPU even while tasks queue for it: say so once, with
    // what to do about it, instead of polling blindly in silence.
    if (busy_poll.count() > 0)
        if (auto st = p->watch_crowding(loadavg); !st)
            log::warn("busy_poll is on, but ", st.error(),
                      ": this worker will poll even while tasks queue for CPUs. Under systemd, "
                      "minid.service's ProcSubset=pid hides /proc/loadavg: add ProcSubset=all in "
                      "a drop-in (see busy_poll in minid.conf(5))");
    return p;
}

Status IoPoller::watch_crowding(const char* loadavg) {
    UniqueFd fd(::open(loadavg, O_RDONLY | O_CLOEXEC));
    if (!fd) return make_error(sys_error("open", loadavg, errno));
    errno = 0;
    if (!read_running_tasks(fd.get()))
        return make_error(errno != 0 ? sys_error("pread", loadavg, errno)
                                     : std::string(loadavg) + ": no running-task count in it");
    // The count is the machine's: compared with the CPUs this process may use, a worker confined
    // to a few CPUs of a busy host polls less, never more, than it should.
    cpus_ = usable_cpu_count();
    loadavg_ = std::move(fd);
    return {};
}

Status IoPoller::add(int fd, uint32_t events, Watcher* w) {
    return control(EPOLL_CTL_ADD, fd, events, w);
}

Status IoPoller::modify(int fd, uint32_t events, Watcher* w) {
    return control(EPOLL_CTL_MOD, fd, events, w);
}

Status IoPoller::remove(int fd) {
    return control(EPOLL_CTL_DEL, fd, 0, nullptr);
}

Status IoPoller::control(int op, int fd, uint32_t events, Watcher* w) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = w;
    if (::epoll_ctl(epfd_.get(), op, fd, &ev) != 0) {
        const char* what = op == EPOLL_CTL_ADD   ? "epoll_ctl(ADD)"
                           : op == EPOLL_CTL_MOD ? "epoll_ctl(MOD)"
                                                 : "epoll_ctl(DEL)";
        return make_error(sys_error(what, "fd " + std::to_string(fd), errno));
    }
    return {};
}

void IoPoller::forget(const Watcher* w) {
    for (int i = batch_next_; i < batch_size_; ++i)
        if (events_[i].data.ptr == w) events_[i].data.ptr = nullptr;
}

void IoPoller::schedule(Watcher* w) {
    if (std::find(scheduled_.begin(), scheduled_.end(), w) == scheduled_.end())
        scheduled_.push_back(w);
}

void IoPoller::unschedule(const Watcher* w) {
    std::erase(scheduled_, w);
    std::replace(scheduled_running_.begin(), scheduled_running_.end(), const_cast<Watcher*>(w),
                 static_cast<Watcher*>(nullptr));
}

void IoPoller::dispatch_scheduled() {
    scheduled_running_.swap(scheduled_);
    for (size_t i = 0; i < scheduled_running_.size(); ++i)
        if (Watcher* w = scheduled_running_[i]) w->on_io(EPOLLIN);
    scheduled_running_.clear();
}

bool IoPoller::dispatch(int n) {
    bool uv_ready = false;
    batch_size_ = n;
    for (batch_next_ = 0; batch_next_ < batch_size_;) {
        const epoll_event ev = events_[batch_next_++];
        if (ev.data.ptr == &uv_backend_tag)
            uv_ready = true;
        else if (auto* w = static_cast<Watcher*>(ev.data.ptr))
            w->on_io(ev.events);
    }
    batch_next_ = batch_size_ = 0;
    return uv_ready;
}

// A worker that sleeps must be woken by whoever sends it the next request: an IPI, and on a VM
// without halt polling a hypervisor exit on both cores, paid largely by the client. A worker
// that serves each request in a few microseconds sleeps between most requests of a
// request-response client, and those wake-ups, not the server's work, then bound throughput
// and latency. So after a short idle gap (the next one is likely short too) the worker polls
// for up to busy_poll before sleeping; after a long gap (light load, idle) it sleeps at once,
// so polling costs CPU only while requests arrive microseconds apart.
// A poll that catches nothing is pure loss, and a sign that the sender cannot run while we
// poll (it shares our core) or that traffic is about to pause: the worker then skips the next
// 1, 3, 7 ... up to 63 polls, until one catches an event again.
int IoPoller::wait(int timeout_ms) {
    if (timeout_ms == 0 || busy_poll_ns_ == 0)
        return ::epoll_wait(epfd_.get(), events_, kBatch, timeout_ms);
    const int64_t idle_since = monotonic_ns();
    if (poll_next_gap_ && !crowded(idle_since)) {
        if (skipped_polls_ < polls_to_skip_) {
            ++skipped_polls_;
        } else if (const int n = poll(idle_since); n != 0) {
            return n;
        }
    }
    // Returns at once when events are already there: a gap of zero, which counts as short.
    const int n = ::epoll_wait(epfd_.get(), events_, kBatch, timeout_ms);
    // A timeout (n == 0) means a timer, not traffic, ended the gap: a long gap.
    poll_next_gap_ = n > 0 && monotonic_ns() - idle_since <= busy_poll_ns_;
    return n;
}

// Polling must not keep anything else that is runnable on this CPU (a client on a shared core,
// the next generation of workers starting up, the master) from running: the worker yields
// between polls, and the scheduler then runs the others for their full slice while each turn of
// the poller takes a microsecond.
int IoPoller::poll(int64_t start) {
    do {
        const int n = ::epoll_wait(epfd_.get(), events_, kBatch, 0);
        if (n != 0) {
            polls_to_skip_ = skipped_polls_ = 0;
            return n;
        }
        ::sched_yield();
    } while (monotonic_ns() - start < busy_poll_ns_);
    polls_to_skip_ = std::min(polls_to_skip_ * 2 + 1, kMaxPollsToSkip);
    skipped_polls_ = 0;
    return 0;
}

// A poller on a CPU that other tasks are queueing for loses twice. Each yield hands the CPU to
// another task for a whole time slice, while a sleeping worker that a request wakes would preempt
// it, so its clients wait longer than if it slept. And the CPU it keeps busy looks taken to the
// scheduler, which would otherwise wake a queued sibling there: even without yielding, a poller
// beside a sibling that shares a core with the client answers faster than that sibling and draws
// the client's requests to itself. So a worker polls only while the machine has had no more
// runnable tasks than CPUs lately (the reader included); reading the count costs about a
// microsecond, once a millisecond at most.
bool IoPoller::crowded(int64_t now) {
    if (!loadavg_ || now - crowd_checked_at_ < kCrowdCheckNs) return crowded_;
    crowd_checked_at_ = now;
    const auto running = read_running_tasks(loadavg_.get());
    if (!running) return crowded_;
    return crowded_ = crowd_score_.add(*running > cpus_);
}

void IoPoller::run(Driver& driver) {
    bool uv_due = true;  // the first turn starts timers and handles set up before run()
    while (!driver.stop_requested()) {
        if (uv_due) {
            uv_run(loop_, UV_RUN_NOWAIT);
            if (driver.stop_requested()) break;
        }
        // 0 when libuv has pending work (closing handles, a due timer), -1 with no timers.
        const int timeout = scheduled_.empty() ? uv_backend_timeout(loop_) : 0;
        const int n = wait(timeout);
        // Connections stamp their activity with uv_now(): keep it current without a uv_run.
        uv_update_time(loop_);
        if (n < 0) {
            if (errno == EINTR) continue;
            // Cannot happen with a valid epoll fd and buffer; serving on is impossible, and the
            // master replaces a worker that exits.
            log::error(sys_error("epoll_wait", "worker poller", errno), "; worker exits");
            return;
        }
        uv_due = dispatch(n);
        if (!scheduled_.empty()) dispatch_scheduled();
        driver.end_of_batch();
        // Level-triggered sockets need no re-arming; libuv only when its fd or a timer says so.
        if (!uv_due) uv_due = uv_backend_timeout(loop_) == 0;
    }
}

}  // namespace minid
