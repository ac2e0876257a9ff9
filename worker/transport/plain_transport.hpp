// PlainTransport: a TCP or unix stream socket, with exactly the syscalls minid used before the
// transport existed: recv, sendmsg (MSG_MORE), sendfile, shutdown, SIOCOUTQ, one epoll_ctl(ADD)
// and MODs only when the wanted readiness changes.
#pragma once

#include "common/unique_fd.hpp"
#include "worker/io_poller.hpp"
#include "worker/transport/socket_watch.hpp"
#include "worker/transport/transport.hpp"

namespace minid {

class PlainTransport final : public Transport {
  public:
    // `watcher` receives the socket's events from `poller`.
    PlainTransport(UniqueFd fd, IoPoller& poller, IoPoller::Watcher& watcher)
        : fd_(std::move(fd)), poller_(poller), watcher_(watcher) {}
    ~PlainTransport() override = default;

    IoResult read(char* buf, size_t len) override;
    IoResult write(const iovec* iov, int count, bool more) override;
    IoResult send_file(int file_fd, uint64_t offset, size_t len) override;
    bool shutdown_write() override;
    void abort() override;
    void close() override { fd_.reset(); }
    Status watch(Want want) override;
    bool has_buffered_input() const override { return false; }
    uint64_t unsent_bytes() const override;

    int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
    IoPoller& poller_;
    IoPoller::Watcher& watcher_;
    SocketWatch watch_;
};

}  // namespace minid
