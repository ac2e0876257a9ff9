// PlainTransport: the socket syscalls, each error mapped to an IoResult for the session.
#include "worker/transport/plain_transport.hpp"

#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/log.hpp"

namespace minid {
namespace {

bool is_soft_error(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

uint32_t events_for(Transport::Want want) {
    switch (want) {
        case Transport::Want::nothing:
            return 0;
        case Transport::Want::read:
            return EPOLLIN;
        case Transport::Want::write:
            return EPOLLOUT;
        case Transport::Want::peer_close:
            return EPOLLRDHUP;
    }
    return 0;
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
    // A plain close would leave the kernel delivering the queued rest of a response to a client
    // that reads a few bytes a second, for as long as it keeps reading; a zero linger discards
    // it with a reset.
    const linger reset{1, 0};
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset) != 0)
        log::debug(sys_error("setsockopt", "SO_LINGER", errno));
}

Status PlainTransport::watch(Want want) {
    const uint32_t events = events_for(want);
    if (registered_ && events == events_) return {};
    Status st = registered_ ? poller_.modify(fd_.get(), events, &watcher_)
                            : poller_.add(fd_.get(), events, &watcher_);
    if (!st) return st;
    registered_ = true;
    events_ = events;
    return {};
}

uint64_t PlainTransport::unsent_bytes() const {
    int queued = 0;
    if (::ioctl(fd_.get(), SIOCOUTQ, &queued) != 0 || queued < 0) return 0;
    return static_cast<uint64_t>(queued);
}

}  // namespace minid
