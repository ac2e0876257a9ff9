// Listener: a listening socket the worker inherited, polled for readability and accepted from
// with accept4() directly — no listen() call, so the backlog systemd or the master chose stays.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "worker/io_poller.hpp"
#include "worker/uv_handle.hpp"

namespace minid {

class Listener final : private IoPoller::Watcher {
  public:
    // Called for each accepted connection (fd is non-blocking and close-on-exec).
    // `data_expected`: the socket defers accepts until the client sent something.
    using AcceptFn =
        std::function<void(UniqueFd fd, const sockaddr_storage& peer, bool data_expected)>;

    // Asked before each accept: true leaves the connection to another worker for a moment.
    using DeferFn = std::function<bool()>;

    // `defer_accept_ms`: the config's defer_accept, which the master set as TCP_DEFER_ACCEPT on
    // TCP sockets; > 0 means accepted connections come with their request.
    static Result<std::unique_ptr<Listener>> create(uv_loop_t* loop, IoPoller& poller, UniqueFd fd,
                                                    std::string name, uint64_t defer_accept_ms,
                                                    AcceptFn on_accept, DeferFn defer = {});
    ~Listener();

    // Start/stop polling; stop is used at the connection cap and when fds run out.
    void resume();
    void pause();
    // Stop for good (drain): the fd is closed here, the master keeps its own copy.
    void close();

    const std::string& name() const { return name_; }

  private:
    explicit Listener(IoPoller& poller) : poller_(poller) {}
    void on_io(uint32_t events) noexcept override;
    void accept_batch();
    void pause_for(uint64_t ms);
    // True when fewer than the reserve of descriptors are left (probed with one dup).
    bool fds_nearly_exhausted() const;
    void report_fd_shortage(const std::string& why);

    IoPoller& poller_;
    UniqueFd fd_;
    std::string name_;
    AcceptFn on_accept_;
    DeferFn defer_;
    // Re-arms polling after EMFILE (so a full fd table cannot spin) or after deferring to a
    // sibling.
    UvHandle<uv_timer_t> retry_;
    bool active_ = false;
    bool closed_ = false;
    bool is_tcp_ = false;
    bool defers_accept_ = false;  // TCP_DEFER_ACCEPT is on
    bool emfile_reported_ = false;
    // Accepting stops while fewer than a reserve of descriptors are free, so that requests on
    // the connections already open can still open files (else they would all fail).
    int fd_high_water_ = 0;     // lowest fd number that eats into the reserve
    bool fd_pressure_ = false;  // the last accepted fd was at or above it
    int deferrals_ = 0;         // consecutive wakeups left to a sibling
};

}  // namespace minid
