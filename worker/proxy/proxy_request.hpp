// ProxyRequest: one client request on its way through an upstream. Reads the whole request body
// first (memory, then a temp file), then takes a connection from the pool, sends the request,
// and reads the response as fast as the app sends it: buffered whole (then the connection goes
// back to the pool and the client is answered from memory or the temp file), or streamed with
// back-pressure for event streams. Retries what is safe to retry; answers 502/503/504 otherwise.
// Pooled by its ProxyHandler; one state enum drives it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "worker/http/exchange.hpp"
#include "worker/proxy/body_spool.hpp"
#include "worker/proxy/upstream_pool.hpp"
#include "worker/proxy/upstream_response_parser.hpp"
#include "worker/uv_handle.hpp"

namespace minid::proxy {

class ProxyHandler;

class ProxyRequest final : private http::Exchange::Producer,
                           private http::Exchange::BodyReader,
                           private UpstreamConnection::User,
                           private UpstreamPool::Waiter,
                           private UpstreamResponseParser::Sink {
  public:
    enum class State : uint8_t {
        idle,          // pooled
        reading_body,  // the client's body goes into the spool
        waiting_slot,  // queued at max_connections
        connecting,    // a non-blocking connect is under way
        backing_off,   // before the next try after a refused connect
        sending,       // the request head and body go upstream
        receiving,     // the response is read (buffered, or its head before streaming)
        streaming,     // the client was answered; body pieces follow as they come
    };

    ProxyRequest(ProxyHandler& handler, UpstreamPool& pool, uv_loop_t* loop);
    ~ProxyRequest();
    ProxyRequest(const ProxyRequest&) = delete;
    ProxyRequest& operator=(const ProxyRequest&) = delete;

    // Takes the exchange (already checked by the handler). `stream`: stream the response
    // whatever its type.
    void start(http::Exchange& ex, bool stream);
    State state() const { return state_; }

  private:
    // --- Exchange::Producer / BodyReader ---
    void proceed(http::Exchange& ex) noexcept override;
    void cancel(http::Exchange& ex) noexcept override;
    void on_request_body(http::Exchange& ex, std::string_view data, bool last) noexcept override;
    // --- UpstreamConnection::User / UpstreamPool::Waiter ---
    void on_upstream_io(UpstreamConnection& c, uint32_t events) noexcept override;
    void on_slot_free() noexcept override;
    // --- UpstreamResponseParser::Sink (only records; acting happens after feed()) ---
    void on_informational(const UpstreamResponseHead& head) override;
    void on_head(const UpstreamResponseHead& head) override;
    void on_body(std::string_view data) override;
    void on_complete() override;

    enum class Failure : uint8_t { refused, timeout };

    void attempt();
    void connected();
    // The request could not go out at once on a connect in progress: wait for writability.
    void wait_for_connect();
    void connect_failed(int error, Failure kind);
    void send_more();
    // While sending, the first read of a response (into io_buf_): the app answered before it
    // took the whole request. Sending stops; the response is read and relayed from then on.
    void answered_early(const IoResult& first);
    void readable_while_sending();
    // A send error: the app may have answered before it closed.
    void send_failed(int error);
    // The connection broke after (part of) the request went out and before a response byte.
    void lost_before_response(const char* what, int error);
    void read_more();
    // One read's outcome; false when reading stops (an error answered, or the end).
    bool handle_read(const IoResult& r);
    void after_feed();
    void finish_buffered();
    // After a 101 to an upgrade: the connection goes to the session as its tunnel peer.
    void finish_upgrade();
    void begin_streaming();
    void pump();
    // Ends with an error page (before any byte went to the client) or a reset (after).
    void fail(int status, std::string_view why);
    void drop_connection(bool reusable);
    void arm_timer(uint64_t ms);
    void on_timer();
    // Back to the handler's pool; the exchange is not touched again.
    void release();
    uint64_t now() const { return uv_now(loop_); }
    bool idempotent_without_body() const;

    ProxyHandler& handler_;
    UpstreamPool& pool_;
    uv_loop_t* loop_;
    UvHandle<uv_timer_t> timer_;
    State state_ = State::idle;
    http::Exchange* ex_ = nullptr;
    bool head_request_ = false;
    bool force_stream_ = false;
    bool upgrade_ = false;   // the client asked for an upgrade the proxy can tunnel
    bool upgraded_ = false;  // the upstream answered it with 101

    BodySpool request_body_;
    std::string head_;                // the request head sent upstream
    uint64_t sent_ = 0;               // bytes of head + body written to the socket
    std::unique_ptr<char[]> io_buf_;  // reads from the upstream; a file body's chunks
    size_t file_chunk_off_ = 0;
    size_t file_chunk_len_ = 0;

    std::unique_ptr<UpstreamConnection> conn_;
    bool reused_ = false;
    bool unconfirmed_ = false;   // a connect in progress; the first send tells how it went
    bool fresh_next_ = false;    // the next try must open a new connection
    bool retried_sent_ = false;  // the once-only retry of a sent request was used
    unsigned tries_ = 0;
    uint64_t first_try_ms_ = 0;
    uint64_t started_ms_ = 0;

    UpstreamResponseParser parser_;
    bool head_seen_ = false;
    bool complete_ = false;
    bool stream_ = false;
    bool early_answer_ = false;  // the response began before the request was all sent
    // A large response with a length: buffered whole all the same (the app's connection is
    // read as fast as it sends), but the client gets it from the spool while it fills, instead
    // of after the last byte. handed_ counts the spool bytes given to the session.
    bool eager_ = false;
    // The spool reached max_temp_file_size: what comes after waits in stream_in_, and the app
    // is read only as the client drains it (eager_ is then set too).
    bool capped_ = false;
    uint64_t handed_ = 0;
    std::string sink_error_;  // a spool write that failed inside on_body
    std::shared_ptr<BodySpool> response_body_;

    // Streaming: stream_out_ was handed to the session and stays put until proceed();
    // stream_in_ collects what the upstream sends meanwhile.
    std::string stream_out_;
    std::string stream_in_;
    bool awaiting_client_ = false;
    bool pumping_ = false;
    bool pump_again_ = false;
};

}  // namespace minid::proxy
