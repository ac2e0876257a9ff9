// IoPoller implementation: one epoll_wait(timeout 0) per libuv wakeup on the epoll fd, then the
// fetched events are dispatched, guarding against watchers that a callback destroyed.
#include "worker/io_poller.hpp"

#include <cerrno>
#include <string>

#include "common/log.hpp"

namespace minid {

Result<std::unique_ptr<IoPoller>> IoPoller::create(uv_loop_t* loop) {
    std::unique_ptr<IoPoller> p(new IoPoller());
    p->epfd_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!p->epfd_) return make_error(sys_error("epoll_create1", "connection poller", errno));
    uv_poll_t* h = p->poll_.make();
    if (int rc = uv_poll_init(loop, h, p->epfd_.get()); rc != 0)
        return make_error(std::string("uv_poll_init(connection poller) failed: ") +
                          uv_strerror(rc));
    h->data = p.get();
    if (int rc = uv_poll_start(h, UV_READABLE,
                               [](uv_poll_t* handle, int status, int) noexcept {
                                   auto* self = static_cast<IoPoller*>(handle->data);
                                   if (!self) return;
                                   if (status < 0) {
                                       log::error("polling the connection epoll set failed: ",
                                                  uv_strerror(status));
                                       return;
                                   }
                                   self->dispatch();
                               });
        rc != 0)
        return make_error(std::string("uv_poll_start(connection poller) failed: ") +
                          uv_strerror(rc));
    return p;
}

IoPoller::~IoPoller() {
    poll_.close();
}

Status IoPoller::add(int fd, uint32_t events, Watcher* w) {
    return control(EPOLL_CTL_ADD, fd, events, w);
}

Status IoPoller::modify(int fd, uint32_t events, Watcher* w) {
    return control(EPOLL_CTL_MOD, fd, events, w);
}

Status IoPoller::control(int op, int fd, uint32_t events, Watcher* w) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = w;
    if (::epoll_ctl(epfd_.get(), op, fd, &ev) != 0)
        return make_error(sys_error(op == EPOLL_CTL_ADD ? "epoll_ctl(ADD)" : "epoll_ctl(MOD)",
                                    "connection", errno));
    return {};
}

void IoPoller::forget(const Watcher* w) {
    for (int i = batch_next_; i < batch_size_; ++i)
        if (events_[i].data.ptr == w) events_[i].data.ptr = nullptr;
}

void IoPoller::dispatch() {
    // Level-triggered all the way down: whatever is left unserved here is reported again on the
    // next turn of the libuv loop, after timers and the listeners had theirs.
    const int n = ::epoll_wait(epfd_.get(), events_, kBatch, 0);
    if (n < 0) {
        if (errno != EINTR) log::error(sys_error("epoll_wait", "connection poller", errno));
        return;
    }
    batch_size_ = n;
    for (batch_next_ = 0; batch_next_ < batch_size_;) {
        const epoll_event ev = events_[batch_next_++];
        if (auto* w = static_cast<Watcher*>(ev.data.ptr)) w->on_io(ev.events);
    }
    batch_next_ = batch_size_ = 0;
}

}  // namespace minid
