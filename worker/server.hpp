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
#include "worker/acme_challenge_handler.hpp"
#include "worker/buffer_pool.hpp"
#include "worker/http/exchange.hpp"
#include "worker/http/request_parser.hpp"
#include "worker/http/static_handler.hpp"
#include "worker/https_handlers.hpp"
#include "worker/io_poller.hpp"
#include "worker/listener.hpp"
#include "worker/proxy/proxy_upstreams.hpp"
#include "worker/router.hpp"
#include "worker/session/session_storage.hpp"
#include "worker/uv_handle.hpp"

namespace minid {

class Http1Session;
class TlsSites;
class TlsTicketKeys;
class TlsTransport;

struct ServerOptions {
    Config config;
    std::vector<std::pair<UniqueFd, std::string>> listeners;  // fd, name
    UniqueFd ipc;                // to the master; invalid when run standalone
    WorkerSlot* slot = nullptr;  // stats slot; null when run standalone
    // The whole stats segment, to balance accepts against sibling workers; null when standalone.
    const WorkerSlot* all_slots = nullptr;
    size_t slot_count = 0;
    size_t slot_index = 0;
    // Answers every request instead of the configured sites (tests); not owned.
    http::Handler* handler_override = nullptr;
    // Certificates and keys from the master (encode_tls_bundle); "" when no site has one.
    std::string tls_bundle;
    // StatsSegment::kMaxUpstreams proxy counter slots of this worker; null when standalone.
    UpstreamSlot* upstream_slots = nullptr;
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
    // A new session on a connection, linked into the list and counted; the caller gives it its
    // transport and starts it.
    Http1Session& add_session(const sockaddr_storage& peer);
    uint64_t active_sessions() const { return active_; }

    // --- for sessions ---
    const Config& config() const { return options_.config; }
    // The handler for a request: the site's (by Host), then the route's (by path). `tls`: the
    // connection's TLS transport, null for plain HTTP. Over TLS, `*hsts` gets the site's
    // Strict-Transport-Security value.
    http::Handler& handler_for(const http::Request& req, const TlsTransport* tls,
                               std::string_view* hsts) {
        if (options_.handler_override) return *options_.handler_override;
        // ACME HTTP-01 on plain listeners, before any site or redirect (only with tls = auto).
        if (acme_handler_ && !tls && req.target.starts_with(AcmeChallengeHandler::kPrefix))
            return *acme_handler_;
        if (!tls && !router_->redirects_http()) return router_->handler_for(req);
        return https_handler_for(req, tls, hsts);
    }
    // Answers requests refused before routing (400, 408, 413, 414, 431, 501, 505): the default
    // site's handler.
    http::StaticHandler& error_handler() { return router_->default_handler(); }
    const Router& router() const { return *router_; }
    // Where a session serializes a response head; copied only if the write comes up short.
    std::string& scratch_head() { return scratch_head_; }
    char* scratch_buffer() { return scratch_.get(); }
    size_t scratch_size() const { return kScratchSize; }
    BufferPool& buffers() { return buffers_; }
    std::unique_ptr<http::RequestParser> acquire_parser();
    void release_parser(std::unique_ptr<http::RequestParser> parser);
    std::unique_ptr<http::Exchange> acquire_exchange();
    void release_exchange(std::unique_ptr<http::Exchange> ex);
    AccessLog& access_log() { return access_log_; }
    bool draining() const { return draining_; }
    uint64_t now_ms() const { return uv_now(loop_); }
    // Wall-clock second for Date and the access log (a vDSO call, no syscall).
    std::time_t now_seconds() const { return ::time(nullptr); }
    IoPoller& poller() { return *poller_; }
    void count_request(int status);
    void count_bytes(uint64_t in, uint64_t out);
    // A request refused by the parser or a timeout: its reason goes to the error log at info
    // level, at most a few lines a second.
    void log_refused(const sockaddr* peer, int status, std::string_view reason);
    // The session closed: it leaves the list now and is freed at the end of the event batch.
    void session_closed(Http1Session* s);

    static constexpr size_t kScratchSize = 64 * 1024;

  private:
    explicit Server(uv_loop_t* loop, ServerOptions options);
    void on_accept(UniqueFd fd, const sockaddr_storage& peer, bool data_expected, bool tls);
    // handler_for() with TLS or redirects: the SNI/Host check (421), redirect_https (308).
    http::Handler& https_handler_for(const http::Request& req, const TlsTransport* tls,
                                     std::string_view* hsts);
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
    // Before the first accept: the master sends the ticket keys right after spawning us, so a
    // short wait spares clients tickets only this worker could resume.
    void take_first_ticket_keys();

    uv_loop_t* loop_;
    ServerOptions options_;
    std::optional<Router> router_;                // set by create()
    std::unique_ptr<TlsTicketKeys> ticket_keys_;  // with tls_
    std::unique_ptr<TlsSites> tls_;               // when some site has a certificate
    std::optional<HttpsRedirectHandler> redirect_handler_;
    std::optional<MisdirectedHandler> misdirected_handler_;
    std::optional<AcmeChallengeHandler> acme_handler_;
    std::string scratch_head_;
    std::unique_ptr<char[]> scratch_;
    BufferPool buffers_;
    std::vector<std::unique_ptr<http::RequestParser>> free_parsers_;
    std::vector<std::unique_ptr<http::Exchange>> free_exchanges_;
    SessionStorage<Http1Session> sessions_;  // before the lists below, which it outlives
    std::vector<Http1Session*> closed_;      // freed at the end of the event batch
    AccessLog access_log_;
    std::unique_ptr<IoPoller> poller_;  // client sockets; outlives them (see ~Server)
    // Upstream pools and proxy handlers; their sockets are in poller_, so they go first.
    std::unique_ptr<proxy::ProxyUpstreams> proxies_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::optional<AcceptBalancer> balancer_;
    Http1Session* conn_head_ = nullptr;  // intrusive list of live sessions
    uint64_t active_ = 0;
    bool draining_ = false;
    bool stopped_ = false;
    bool paused_for_cap_ = false;
    uint64_t cap_reported_ms_ = 0;    // last "max_connections reached" warning (rate-limited)
    uint64_t refused_window_ms_ = 0;  // start of the current second of refusal log lines
    unsigned refused_logged_ = 0;     // lines logged in it
    uint64_t refused_suppressed_ = 0;

    UvHandle<uv_timer_t> sweep_timer_;
    UvHandle<uv_timer_t> heartbeat_timer_;
    UvHandle<uv_timer_t> drain_deadline_;
    UvHandle<uv_poll_t> ipc_poll_;

    friend class Http1Session;
};

}  // namespace minid
