// UpstreamPool: the connections of one worker to one [upstream NAME]: the servers (balanced by
// fewest outstanding requests), idle keep-alive connections kept for reuse (checked before
// reuse, closed after keepalive_timeout or as soon as the app closes them), max_connections
// with a bounded queue of waiting requests, and the upstream's counters.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"
#include "worker/io_poller.hpp"
#include "worker/proxy/upstream_connection.hpp"
#include "worker/uv_handle.hpp"

namespace minid::proxy {

// Per upstream and worker; exported to the stats segment.
struct UpstreamCounters {
    uint64_t requests = 0;        // requests answered by the upstream (any status)
    uint64_t retries = 0;         // attempts after the first
    uint64_t connect_errors = 0;  // refused, no socket, full backlog, connect timeout
    uint64_t timeouts = 0;        // 504: no response within read_timeout (or send_timeout)
    uint64_t bad_responses = 0;   // 502: a response that broke the rules, or a cut one
    uint64_t queue_full = 0;      // 503: max_connections and the queue were full
};

class UpstreamPool {
  public:
    // A request waiting for a free connection slot (max_connections reached).
    class Waiter {
      public:
        virtual void on_slot_free() noexcept = 0;

      protected:
        ~Waiter() = default;
    };

    struct Lease {
        std::unique_ptr<UpstreamConnection> conn;
        bool reused = false;  // from the idle pool (already connected)
        UpstreamConnection::Start start = UpstreamConnection::Start::failed;
    };
    enum class Take : uint8_t {
        ok,      // `lease` holds a connection (reused, connecting, or failed to connect)
        queued,  // at max_connections: on_slot_free() comes later
        full,    // the queue is full too: 503
    };

    static Result<std::unique_ptr<UpstreamPool>> create(const UpstreamSettings& settings,
                                                        IoPoller& poller, uv_loop_t* loop);
    ~UpstreamPool();
    UpstreamPool(const UpstreamPool&) = delete;
    UpstreamPool& operator=(const UpstreamPool&) = delete;

    const UpstreamSettings& settings() const { return settings_; }
    // A connection for one request: a live idle one unless `fresh` (the retry after a failure
    // on a sent request), else a new connect to the server with the fewest outstanding requests.
    Take take(Waiter& w, bool fresh, Lease& lease);
    // A queued waiter that no longer waits (its client left).
    void forget(Waiter& w);
    // The request is done with `c` (one outstanding request fewer on its server): kept idle when
    // `reusable` and there is room, closed otherwise.
    void give_back(std::unique_ptr<UpstreamConnection> c, bool reusable);
    // A connect that failed: its server is passed over for a moment when others exist.
    void connect_failed(std::unique_ptr<UpstreamConnection> c);
    // The worker drains: idle connections close, none are kept from now on.
    void drain();

    const std::string& server_text(size_t server) const { return servers_[server].address.text; }
    uint64_t open_connections() const { return open_; }
    uint64_t idle_connections() const { return idle_; }
    UpstreamCounters counters;

  private:
    struct Server {
        UpstreamAddress address;
        uint32_t outstanding = 0;     // requests holding a connection to it
        uint64_t avoid_until_ms = 0;  // after a failed connect
        std::vector<std::unique_ptr<UpstreamConnection>> idle;  // oldest first
    };

    UpstreamPool(const UpstreamSettings& settings, IoPoller& poller, uv_loop_t* loop)
        : settings_(settings), poller_(poller), loop_(loop) {}
    size_t pick_server();
    void close_connection(std::unique_ptr<UpstreamConnection> c);
    void wake_waiter();
    void start_idle_timer();
    void expire_idle();
    static void on_idle_event(void* ctx, UpstreamConnection& c) noexcept;

    UpstreamSettings settings_;
    IoPoller& poller_;
    uv_loop_t* loop_;
    std::vector<Server> servers_;
    std::deque<Waiter*> waiters_;
    size_t next_ = 0;    // where the tie-break among servers starts
    uint64_t open_ = 0;  // idle + in use + connecting
    uint64_t idle_ = 0;
    bool draining_ = false;
    UvHandle<uv_timer_t> idle_timer_;
};

}  // namespace minid::proxy
