// Server: everything one worker process runs — listeners, connections (on its IoPoller), timeouts
// and the drain on reload/stop (libuv timers), stats and the link to the master.
#pragma once

#include <uv.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <vector>

#include "common/config.hpp"
#include "common/stats_segment.hpp"
#include "common/unique_fd.hpp"
#include "common/worker_message.hpp"
#include "worker/accept_balancer.hpp"
#include "worker/access_log.hpp"
#include "worker/buffer_pool.hpp"
#include "worker/http/request_parser.hpp"
#include "worker/http/response.hpp"
#include "worker/http/static_handler.hpp"
#include "worker/io_poller.hpp"
#include "worker/listener.hpp"
#include "worker/uv_handle.hpp"

namespace minid {

class Connection;

struct ServerOptions {
    Config config;
    std::vector<std::pair<UniqueFd, std::string>> listeners;  // fd, name
    UniqueFd ipc;                // to the master; invalid when run standalone
    WorkerSlot* slot = nullptr;  // stats slot; null when run standalone
    // The whole stats segment, to balance accepts against sibling workers; null when standalone.
    const WorkerSlot* all_slots = nullptr;
    size_t slot_count = 0;
    size_t slot_index = 0;
};

class Server final : private IoPoller::Driver {
  public:
    static Result<std::unique_ptr<Server>> create(uv_loop_t* loop, ServerOptions options);
    ~Server();

    // Starts accepting and tells the master "ready".
    Status start();
    // Serves until the drain finishes or stop_now(); the worker's main loop.
    void run();
    // Stop accepting, finish in-flight requests with Connection: close, close idle connections
    // after a short grace, exit when none are left or graceful_timeout runs out.
    void begin_drain(const char* why);
    // Close everything now (SIGINT/SIGQUIT, or the drain deadline).
    void stop_now();

    // --- for Connection ---
    const Config& config() const { return options_.config; }
    http::StaticHandler& handler() { return *handler_; }
    http::Response& scratch_response() { return scratch_response_; }
    char* scratch_buffer() { return scratch_.get(); }
    size_t scratch_size() const { return kScratchSize; }
    BufferPool& buffers() { return buffers_; }
    std::unique_ptr<http::RequestParser> acquire_parser();
    void release_parser(std::unique_ptr<http::RequestParser> parser);
    AccessLog& access_log() { return access_log_; }
    bool draining() const { return draining_; }
    uint64_t now_ms() const { return uv_now(loop_); }
    // Wall-clock second for Date and the access log (a vDSO call, no syscall).
    std::time_t now_seconds() const { return ::time(nullptr); }
    uv_loop_t* loop() const { return loop_; }
    IoPoller& poller() { return *poller_; }
    void count_request(int status, uint64_t bytes_out_delta);
    void count_bytes(uint64_t in, uint64_t out);
    void connection_closed(Connection* c);

    static constexpr size_t kScratchSize = 64 * 1024;

  private:
    explicit Server(uv_loop_t* loop, ServerOptions options);
    void on_accept(UniqueFd fd, const sockaddr_storage& peer, socklen_t len, bool data_expected);
    void sweep();
    void pause_for_cap();
    // At the cap, idle keep-alive connections give way to clients waiting in the listen queue.
    void make_room(uint64_t now_ms);
    void heartbeat();
    void maybe_finish();
    void set_state(WorkerState s);
    void notify_master_ready();
    bool stop_requested() const override { return stopped_; }
    void end_of_batch() noexcept override;
    static void on_ipc(uv_poll_t* h, int status, int events) noexcept;
    void on_master_message(const worker_message::Message& m);

    uv_loop_t* loop_;
    ServerOptions options_;
    std::unique_ptr<http::StaticHandler> handler_;
    http::Response scratch_response_;
    std::unique_ptr<char[]> scratch_;
    BufferPool buffers_;
    std::vector<std::unique_ptr<http::RequestParser>> free_parsers_;
    AccessLog access_log_;
    std::unique_ptr<IoPoller> poller_;  // client sockets; outlives them (see ~Server)
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::optional<AcceptBalancer> balancer_;
    Connection* conn_head_ = nullptr;  // intrusive list of live connections
    uint64_t active_ = 0;
    bool draining_ = false;
    bool stopped_ = false;
    bool paused_for_cap_ = false;
    uint64_t cap_reported_ms_ = 0;  // last "max_connections reached" warning (rate-limited)

    UvHandle<uv_timer_t> sweep_timer_;
    UvHandle<uv_timer_t> heartbeat_timer_;
    UvHandle<uv_timer_t> drain_deadline_;
    UvHandle<uv_poll_t> ipc_poll_;

    friend class Connection;
};

}  // namespace minid
