// Socket pieces every transport shares: its epoll registration (one ADD, then MODs only when the
// wanted events change), the unsent-byte count and the reset-on-close switch.
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "worker/io_poller.hpp"
#include "worker/transport/transport.hpp"

namespace minid {

// The epoll events a plain socket needs for what the session waits for.
uint32_t epoll_events_for(Transport::Want want);

class SocketWatch {
  public:
    // Registers or modifies `fd` for `events` unless they are the ones registered already.
    Status set(IoPoller& poller, int fd, uint32_t events, IoPoller::Watcher* watcher) {
        if (registered_ && events == events_) return {};
        Status st =
            registered_ ? poller.modify(fd, events, watcher) : poller.add(fd, events, watcher);
        if (!st) return st;
        registered_ = true;
        events_ = events;
        return {};
    }
    bool registered() const { return registered_; }
    uint32_t events() const { return events_; }

  private:
    uint32_t events_ = 0;  // registered epoll events
    bool registered_ = false;
};

// Bytes handed to the kernel that the peer has not acknowledged yet (SIOCOUTQ); 0 if unknown.
uint64_t socket_unsent_bytes(int fd);
// A zero linger: the coming close() discards unsent data and resets the connection.
void socket_reset_on_close(int fd);

}  // namespace minid
