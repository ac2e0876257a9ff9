// UpstreamConnection: the socket calls, each error kept as a value for the proxy to act on.
#include "worker/proxy/upstream_connection.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>

#include "common/log.hpp"

namespace minid::proxy {
namespace {

bool is_soft_error(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

}  // namespace

std::unique_ptr<UpstreamConnection> UpstreamConnection::connect(const UpstreamAddress& to,
                                                                size_t server, IoPoller& poller,
                                                                Start* start) {
    const int family = to.addr.ss_family;
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    std::unique_ptr<UpstreamConnection> c(new UpstreamConnection(std::move(fd), server, poller));
    if (!c->fd_) {
        c->error_ = errno;
        log::error(sys_error("socket", "upstream " + to.text, c->error_));
        *start = Start::failed;
        return c;
    }
    if (family != AF_UNIX) {
        // Requests and responses are whole messages: no Nagle delay on the last segment.
        const int one = 1;
        if (::setsockopt(c->fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            log::debug(sys_error("setsockopt", "TCP_NODELAY", errno));
    }
    for (;;) {
        if (::connect(c->fd_.get(), reinterpret_cast<const sockaddr*>(&to.addr), to.len) == 0) {
            *start = Start::connected;
            return c;
        }
        if (errno == EINTR) continue;
        break;
    }
    // A unix socket whose backlog is full says EAGAIN: a refusal like ECONNREFUSED, not
    // "try the same call later" (the connect was not started).
    if (errno == EINPROGRESS && family != AF_UNIX) {
        *start = Start::in_progress;
        return c;
    }
    c->error_ = errno;
    *start = Start::failed;
    return c;
}

int UpstreamConnection::finish_connect() {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    error_ = err;
    return err;
}

IoResult UpstreamConnection::read(char* buf, size_t len) {
    const ssize_t n = ::recv(fd_.get(), buf, len, 0);
    if (n > 0) return IoResult::done(static_cast<size_t>(n));
    if (n == 0) return IoResult::eof();
    if (is_soft_error(errno)) return IoResult::would_block();
    return IoResult::failed(errno);
}

IoResult UpstreamConnection::write(const iovec* iov, int count) {
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n >= 0) return IoResult::done(static_cast<size_t>(n));
    if (is_soft_error(errno)) return IoResult::would_block();
    return IoResult::failed(errno);
}

bool UpstreamConnection::looks_alive() const {
    char byte;
    const ssize_t n = ::recv(fd_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    // 0: the app closed it; > 0: bytes nobody asked for (a late or broken response).
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void UpstreamConnection::shutdown_write() {
    ::shutdown(fd_.get(), SHUT_WR);
}

void UpstreamConnection::on_io(uint32_t events) noexcept {
    if (user_) {
        user_->on_upstream_io(*this, events);
    } else if (idle_handler_) {
        idle_handler_(idle_ctx_, *this);
    }
}

}  // namespace minid::proxy
