// IoPoller: the epoll instance a worker sleeps in. Client and listening sockets are registered
// here directly; libuv's own epoll fd sits in it too, so the libuv loop (timers, signals, the
// master link) runs whenever it has something to do. A socket costs one epoll_ctl(ADD) and
// close() removes it; a uv_poll per socket cost an ADD+DEL probe, an ioctl(FIONBIO) and a DEL.
#pragma once

#include <sys/epoll.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace minid {

// The running-task count of a /proc/loadavg line ("0.52 0.58 0.59 3/187 12345" -> 3).
std::optional<long> running_tasks_from_loadavg(std::string_view text);
// The same, read from an open /proc/loadavg; nullopt (errno set if the read failed) when
// unreadable.
std::optional<long> read_running_tasks(int loadavg_fd);

// Smooths samples of "more tasks runnable than CPUs" (one a millisecond at most): a kernel thread
// that runs for a moment must not stop polling, a sibling or client that keeps queueing must.
// An average over about the last 8 samples; crowded above 1/4, so 3 crowded samples in a row
// stop polling and about 11 clear ones resume it.
class CrowdScore {
  public:
    // Adds a sample; true while the machine counts as crowded.
    bool add(bool crowded_now) {
        const int target = crowded_now ? kOne : 0;
        score_ = primed_ ? score_ + (target - score_) / 8 : target;
        primed_ = true;
        return score_ > kOne / 4;
    }

  private:
    static constexpr int kOne = 1 << 16;
    int score_ = 0;
    bool primed_ = false;  // the first sample stands alone
};

class IoPoller {
  public:
    // Something registered for readiness: level-triggered EPOLLIN/EPOLLOUT, plus EPOLLERR/EPOLLHUP
    // which epoll always reports.
    class Watcher {
      public:
        virtual void on_io(uint32_t epoll_events) noexcept = 0;

      protected:
        ~Watcher() = default;
    };

    // What run() asks its owner between turns.
    class Driver {
      public:
        virtual bool stop_requested() const = 0;
        // After each batch of socket events (e.g. flush buffered log lines).
        virtual void end_of_batch() noexcept = 0;

      protected:
        ~Driver() = default;
    };

    // `busy_poll`: after an idle gap shorter than this, poll for up to this long before
    // sleeping (Config::busy_poll); 0 = always sleep. `loadavg`: where the count of runnable
    // tasks is read (tests point it at a file of their own). With busy_poll on and `loadavg`
    // unreadable, logs one warning and polls regardless of the count (sees_crowding() false).
    static Result<std::unique_ptr<IoPoller>> create(uv_loop_t* loop,
                                                    std::chrono::microseconds busy_poll,
                                                    const char* loadavg = "/proc/loadavg");
    IoPoller(const IoPoller&) = delete;
    IoPoller& operator=(const IoPoller&) = delete;
    ~IoPoller() = default;

    // Runs until the driver asks to stop: sleeps in epoll_wait with libuv's next timer as the
    // timeout, dispatches socket events, and runs the libuv loop once (UV_RUN_NOWAIT) when its
    // fd is ready or a timer is due.
    void run(Driver& driver);

    // Registration is keyed by fd; a closed fd leaves the set by itself (each socket has a single
    // owner, so closing it drops the registration with it).
    Status add(int fd, uint32_t events, Watcher* w);
    Status modify(int fd, uint32_t events, Watcher* w);
    Status remove(int fd);
    // A watcher going away: events for it already fetched in this batch are dropped.
    void forget(const Watcher* w);
    // A watcher that is ready without a kernel event (a TLS transport holding decrypted input)
    // gets on_io(EPOLLIN) right after the current batch; the poller does not sleep before that.
    void schedule(Watcher* w);
    // A scheduled watcher going away.
    void unschedule(const Watcher* w);
    // Sleep whenever idle from now on (a draining worker: its traffic is winding down and the
    // next generation needs the CPU).
    void stop_polling() { busy_poll_ns_ = 0; }
    // Whether polling stops while tasks queue for CPUs (busy_poll on and the count readable).
    bool sees_crowding() const { return static_cast<bool>(loadavg_); }

  private:
    static constexpr int kBatch = 64;
    static constexpr int kMaxPollsToSkip = 63;
    static constexpr int64_t kCrowdCheckNs = 1'000'000;

    IoPoller(uv_loop_t* loop, std::chrono::microseconds busy_poll)
        : loop_(loop),
          busy_poll_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(busy_poll).count()) {}
    // Opens `loadavg` for crowded() and checks that it holds a running-task count.
    Status watch_crowding(const char* loadavg);
    Status control(int op, int fd, uint32_t events, Watcher* w);
    // Dispatches a fetched batch; true when libuv's fd was among the events.
    bool dispatch(int n);
    // Runs the watchers schedule() named (those it names meanwhile wait for the next turn).
    void dispatch_scheduled();
    // epoll_wait with the busy-poll policy; same result convention.
    int wait(int timeout_ms);
    // Polls with epoll_wait(0) from `start` for up to busy_poll; the events caught, or 0.
    int poll(int64_t start);
    // Whether more tasks are runnable than this process has CPUs, lately (the running count of
    // /proc/loadavg, read at most once per kCrowdCheckNs, smoothed by CrowdScore).
    bool crowded(int64_t now);

    uv_loop_t* loop_;
    UniqueFd epfd_;
    std::vector<Watcher*> scheduled_;
    std::vector<Watcher*> scheduled_running_;
    epoll_event events_[kBatch]{};
    int batch_next_ = 0;  // index of the next event to dispatch in events_
    int batch_size_ = 0;  // events fetched in the batch being dispatched
    int64_t busy_poll_ns_;
    bool poll_next_gap_ = false;  // the last idle gap was short: poll before sleeping
    int polls_to_skip_ = 0;       // after polls that caught nothing (0, 1, 3, ... 63)
    int skipped_polls_ = 0;       // of those, skipped so far
    UniqueFd loadavg_;            // /proc/loadavg; unset if it cannot be read (then never crowded)
    long cpus_ = 0;               // CPUs this process may run on (usable_cpus.hpp)
    int64_t crowd_checked_at_ = INT64_MIN / 2;
    CrowdScore crowd_score_;
    bool crowded_ = false;  // verdict after the last sample
};

}  // namespace minid
