// UpstreamConnection: one non-blocking socket to an app server (TCP or unix), registered in the
// worker's IoPoller. Whoever holds it (a proxied request, or the pool while it is idle) gets its
// readiness; it knows nothing about HTTP.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/unique_fd.hpp"
#include "worker/io_poller.hpp"
#include "worker/transport/socket_watch.hpp"
#include "worker/transport/transport.hpp"

namespace minid::proxy {

// Where a server listens, resolved once when the worker starts.
struct UpstreamAddress {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text;  // "unix:/run/app.sock", "127.0.0.1:8000": for logs
};

class UpstreamConnection final : public IoPoller::Watcher {
  public:
    // Told about readiness while it holds the connection.
    class User {
      public:
        virtual void on_upstream_io(UpstreamConnection& c, uint32_t epoll_events) noexcept = 0;

      protected:
        ~User() = default;
    };

    enum class Start : uint8_t {
        connected,    // at once (unix sockets usually)
        in_progress,  // wait for writability, then finish_connect()
        failed,       // `error` says why (ECONNREFUSED, ENOENT, EAGAIN: a full unix backlog)
    };

    // Opens a socket and starts connecting to `to`. On failure the connection is useless
    // except for error().
    static std::unique_ptr<UpstreamConnection> connect(const UpstreamAddress& to, size_t server,
                                                       IoPoller& poller, Start* start);
    // Closing the fd takes it out of epoll; events already fetched for it are dropped.
    ~UpstreamConnection() { poller_.forget(this); }
    UpstreamConnection(const UpstreamConnection&) = delete;
    UpstreamConnection& operator=(const UpstreamConnection&) = delete;

    // After writability of a connect in progress: 0 when connected, else the errno.
    int finish_connect();
    int error() const { return error_; }

    IoResult read(char* buf, size_t len);
    IoResult write(const iovec* iov, int count);
    // EPOLLIN, EPOLLOUT, EPOLLRDHUP or 0; HUP and ERR are always reported.
    Status watch(uint32_t events) { return watch_.set(poller_, fd_.get(), events, this); }
    void set_user(User* u) { user_ = u; }
    // Nothing unexpected waiting and the peer has not closed: recv(MSG_PEEK) would block. Run
    // before a pooled connection that was idle a while is reused (h2o does the same).
    bool looks_alive() const;
    // Shuts the write side (the tunnel's half-close).
    void shutdown_write();

    size_t server() const { return server_; }
    int fd() const { return fd_.get(); }
    // When it went idle in the pool (ms, the loop's clock); the pool's bookkeeping.
    uint64_t idle_since_ms = 0;
    uint64_t requests = 0;  // responses read on it

    void on_io(uint32_t events) noexcept override;
    // Set while the connection sits in the pool: closing or stray bytes end it there.
    using IdleHandler = void (*)(void* ctx, UpstreamConnection& c) noexcept;
    void set_idle_handler(IdleHandler h, void* ctx) {
        idle_handler_ = h;
        idle_ctx_ = ctx;
    }

  private:
    UpstreamConnection(UniqueFd fd, size_t server, IoPoller& poller)
        : fd_(std::move(fd)), server_(server), poller_(poller) {}

    UniqueFd fd_;
    size_t server_;
    IoPoller& poller_;
    SocketWatch watch_;
    User* user_ = nullptr;
    IdleHandler idle_handler_ = nullptr;
    void* idle_ctx_ = nullptr;
    int error_ = 0;
};

}  // namespace minid::proxy
