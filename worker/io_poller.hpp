// IoPoller: the worker's own epoll instance for client sockets, nested in the libuv loop through a
// single uv_poll on its descriptor. A socket costs one epoll_ctl(ADD), and close() removes it;
// a uv_poll per socket costs an epoll_ctl ADD+DEL probe, an ioctl(FIONBIO) and a DEL at close.
#pragma once

#include <sys/epoll.h>
#include <uv.h>

#include <cstdint>
#include <memory>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "worker/uv_handle.hpp"

namespace minid {

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

    static Result<std::unique_ptr<IoPoller>> create(uv_loop_t* loop);
    IoPoller(const IoPoller&) = delete;
    IoPoller& operator=(const IoPoller&) = delete;
    ~IoPoller();

    // Registration is keyed by fd; the fd leaves the set when it is closed (its only reference is
    // the connection's, so closing it drops the epoll registration with it).
    Status add(int fd, uint32_t events, Watcher* w);
    Status modify(int fd, uint32_t events, Watcher* w);
    // A watcher going away: events for it already fetched in this batch are dropped.
    void forget(const Watcher* w);

  private:
    static constexpr int kBatch = 64;

    IoPoller() = default;
    Status control(int op, int fd, uint32_t events, Watcher* w);
    void dispatch();

    UniqueFd epfd_;
    UvHandle<uv_poll_t> poll_;
    epoll_event events_[kBatch]{};
    int batch_next_ = 0;  // index of the next event to dispatch in events_
    int batch_size_ = 0;  // events fetched in the batch being dispatched
};

}  // namespace minid
