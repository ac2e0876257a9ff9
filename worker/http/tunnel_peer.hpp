// TunnelPeer: the far end of a two-way tunnel after a 101 Switching Protocols (the upstream's
// socket), handed by a handler to the session through its Exchange. The session relays raw
// bytes between it and the client's transport until both sides are done.
#pragma once

#include <cstdint>
#include <string>

#include "worker/io_poller.hpp"
#include "worker/transport/transport.hpp"

namespace minid::http {

// A Transport, so that the relay treats both ends alike. Readiness goes to the watcher set
// here; close() may come before destruction and is idempotent.
class TunnelPeer : public Transport {
  public:
    virtual void set_watcher(IoPoller::Watcher* w) = 0;

    // Bytes the peer sent after the 101 head: the client gets them first.
    std::string leftover;
    // The tunnel closes after this long without a byte either way.
    uint64_t idle_timeout_ms = 60'000;
};

}  // namespace minid::http
