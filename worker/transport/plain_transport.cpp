// PlainTransport: the socket syscalls, each error mapped to an IoResult for the session.
#include "worker/transport/plain_transport.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>

#include "worker/transport/socket_watch.hpp"

namespace minid {
namespace {

bool is_soft_error(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

}  // namespace

IoResult PlainTransport::read(char* buf, size_t len) {
    // recv, not read: it skips the VFS layer, 50-85 ns a call on loopback TCP
    // (bench/micro/read_vs_recv.c).
    const ssize_t n = ::recv(fd_.get(), buf, len, 0);
    if (n > 0) return IoResult::done(static_cast<size_t>(n));
    if (n == 0) return IoResult::eof();
    if (is_soft_error(errno)) return IoResult::would_block();
    return IoResult::failed(errno);
}

IoResult PlainTransport::write(const iovec* iov, int count, bool more) {
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (n >= 0) return IoResult::done(static_cast<size_t>(n));
    if (is_soft_error(errno)) return IoResult::would_block();
    return IoResult::failed(errno);
}

IoResult PlainTransport::send_file(int file_fd, uint64_t offset, size_t len) {
    off_t off = static_cast<off_t>(offset);
    const ssize_t n = ::sendfile(fd_.get(), file_fd, &off, len);
    if (n > 0) return IoResult::done(static_cast<size_t>(n));
    if (n == 0) return IoResult::eof();  // the file shrank under us
    if (is_soft_error(errno)) return IoResult::would_block();
    return IoResult::failed(errno);
}

bool PlainTransport::shutdown_write() {
    return ::shutdown(fd_.get(), SHUT_WR) == 0;
}

void PlainTransport::abort() {
    socket_reset_on_close(fd_.get());
}

Status PlainTransport::watch(Want want) {
    return watch_.set(poller_, fd_.get(), epoll_events_for(want), &watcher_);
}

uint64_t PlainTransport::unsent_bytes() const {
    return socket_unsent_bytes(fd_.get());
}

}  // namespace minid
