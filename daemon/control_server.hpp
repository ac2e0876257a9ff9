// ControlServer: the master's control socket (unix stream, versioned JSON lines) that minidctl
// talks to — status, reload that waits, stop, reopen, worker count, metrics.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace minid {

class Master;
class ControlBackend;

struct ControlServerOptions {
    std::string path;
    unsigned mode = 0600;
    std::string group;  // "" = keep the master's group
    // A client that sends no complete request for this long is disconnected.
    uint64_t idle_timeout_ms = 10'000;
    size_t max_request_bytes = 64 * 1024;
    size_t max_clients = 128;
    // Responses queued to a client that does not read them; beyond this it is disconnected.
    size_t max_pending_output = 8 * 1024 * 1024;
    // A listening socket already bound to `path` (handed over by a re-exec); -1 = bind one.
    int adopt_fd = -1;
};

class ControlServer {
  public:
    // Binds config.control_socket (creating its directory if needed) with the configured mode and
    // group, and starts accepting clients on the master's loop. Never blocks the loop.
    // `adopt_fd`: the listening socket handed over by a re-exec (-1 = bind a new one).
    static Result<std::unique_ptr<ControlServer>> create(uv_loop_t* loop, Master& master,
                                                         int adopt_fd = -1);
    // The same over any backend (tests); `backend` must outlive the server.
    static Result<std::unique_ptr<ControlServer>> create(uv_loop_t* loop, ControlBackend& backend,
                                                         ControlServerOptions options);
    virtual ~ControlServer() = default;
    // Stops accepting and closes every client (on stop); removes the socket file.
    virtual void close() = 0;
    // Connected clients (for tests and debug logs).
    virtual size_t client_count() const = 0;

    // --- for the master's re-exec (daemon/reexec.hpp) ---
    // The listening socket, and the clients that wait for the answer to a reload.
    virtual int listener_fd() const = 0;
    virtual std::vector<int> reload_waiter_fds() const = 0;
    // Takes over such a client from the previous image; the returned callback answers it.
    virtual std::function<void(const Status&)> adopt_reload_waiter(int fd) = 0;
};

}  // namespace minid
