// The socket helpers shared by PlainTransport and TlsTransport.
#include "worker/transport/socket_watch.hpp"

#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/log.hpp"

namespace minid {

uint32_t epoll_events_for(Transport::Want want) {
    switch (want) {
        case Transport::Want::nothing:
            return 0;
        case Transport::Want::read:
            return EPOLLIN;
        case Transport::Want::write:
            return EPOLLOUT;
        case Transport::Want::peer_close:
            return EPOLLRDHUP;
        case Transport::Want::read_write:
            return EPOLLIN | EPOLLOUT;
    }
    return 0;
}

uint64_t socket_unsent_bytes(int fd) {
    int queued = 0;
    if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued < 0) return 0;
    return static_cast<uint64_t>(queued);
}

void socket_reset_on_close(int fd) {
    // A plain close would leave the kernel delivering the queued rest of a response to a client
    // that reads a few bytes a second, for as long as it keeps reading; a zero linger discards
    // it with a reset.
    const linger reset{1, 0};
    if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset) != 0)
        log::debug(sys_error("setsockopt", "SO_LINGER", errno));
}

}  // namespace minid
