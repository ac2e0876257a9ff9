// Http1Session: HTTP/1.x over one Transport. It cuts requests out of a pooled input buffer with
// the parser, hands each to a handler as an Exchange, writes the response (memory, file range or
// a stream) and keeps the connection alive, pipelines, times out and closes gracefully. One state
// enum drives it; a closed session is freed by the server at the end of the event batch, never
// inside its own callback.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "worker/http/exchange.hpp"
#include "worker/http/request_parser.hpp"
#include "worker/io_poller.hpp"
#include "worker/session/tunnel_relay.hpp"
#include "worker/transport/plain_transport.hpp"
#include "worker/transport/transport.hpp"

namespace minid {

class Server;
class TlsTransport;

class Http1Session final : public IoPoller::Watcher,
                           private http::Exchange::Owner,
                           private TunnelRelay::Owner {
  public:
    enum class State : uint8_t {
        reading_head,     // waiting for (the rest of) a request head; idle between requests too
        reading_body,     // the handler has the head; the body is read (for the handler, or
                          // dropped) before any response goes out
        waiting_handler,  // the request was read whole; the handler has not answered yet
        writing,          // a response (or the next piece of a streamed one) is being sent
        tunnel,           // after a 101: bytes relayed both ways (TunnelRelay) until both
                          // sides are done, or idle for the peer's idle timeout
        lingering,        // half-closed after the last response; dropping what the peer sends
        closing,          // closed; the server frees it at the end of the event batch
    };

    // The server links the new session into its list, gives it a transport, then calls start().
    Http1Session(Server& server, const sockaddr_storage& peer);
    ~Http1Session();
    Http1Session(const Http1Session&) = delete;
    Http1Session& operator=(const Http1Session&) = delete;

    // `tls`: the same transport when it is TLS (SNI, handshake deadline, HSTS), else null.
    void set_transport(std::unique_ptr<Transport> t, TlsTransport* tls = nullptr) {
        owned_transport_ = std::move(t);
        transport_ = owned_transport_.get();
        tls_ = tls;
    }
    // A plain TCP or unix socket, kept inside the session: one allocation per connection fewer
    // on the path every connection takes.
    void set_plain_transport(UniqueFd fd, IoPoller& poller) {
        plain_.emplace(std::move(fd), poller, *this);
        transport_ = &*plain_;
        tls_ = nullptr;
    }

    // Starts serving. `data_expected`: the listener defers accepts until the client sent data
    // (TCP_DEFER_ACCEPT), so the request is read at once instead of after a round through epoll;
    // a connection answered and closed that way never costs an epoll registration.
    void start(bool data_expected);
    // Readiness from the poller (or the transport's buffered input).
    void on_io(uint32_t epoll_events) noexcept override;
    // Called by the server's sweep timer.
    void check_deadline(uint64_t now_ms);
    // The worker started draining: idle connections get a short grace, then close.
    void on_drain_started();
    // At the connection cap: a keep-alive connection idle for at least `min_idle_ms` starts a
    // graceful close to make room for a waiting client; true if it did.
    bool evict_if_idle(uint64_t now_ms, uint64_t min_idle_ms);
    // Closes the connection now (cancelling a request in progress); freed later by the server.
    void close_now();
    // Same, but discard unsent data and reset the connection (for clients cut for slowness).
    void abort_now();

    State state() const { return state_; }

    Http1Session* next = nullptr;
    Http1Session* prev = nullptr;

  private:
    // What is left to send of a response whose write could not finish at once, or of a stream.
    struct Outgoing;

    // --- Exchange::Owner ---
    void exchange_responded(http::Exchange& ex) noexcept override;
    void exchange_wrote(http::Exchange& ex) noexcept override;
    void exchange_aborted(http::Exchange& ex) noexcept override;
    // --- TunnelRelay::Owner ---
    void tunnel_moved(uint64_t from_client, uint64_t to_client) noexcept override;
    void tunnel_ended(bool broken) noexcept override;
    // The 101 head is out: the connection becomes a tunnel to `peer`.
    void begin_tunnel(std::unique_ptr<http::TunnelPeer> peer);

    void on_readable();
    void on_writable();
    void on_lingering_readable();
    void on_peer_gone();
    // Parses buffered input: heads go to handlers, body pieces to readers.
    void process_input();
    void begin_exchange();
    void on_body_piece(std::string_view piece);
    void on_message_complete();
    void refuse(int status, std::string_view reason);
    // "HTTP/1.1 100 Continue" for a handler that reads the body.
    void send_continue();
    // The request is read whole and the handler answered: serialize and send.
    void start_response();
    // Writes what is queued; false when it must wait for writability (or the session closed).
    bool flush();
    void queue_stream_piece();
    void finish_exchange();
    // After the last byte of a response: keep reading, or close.
    void after_response(bool close);
    void begin_lingering_close();
    // Sets what the transport waits for; false (logged) if it could not.
    bool want(Transport::Want w);
    void acquire_input();
    void release_input_if_idle();
    void compact_input();
    bool idle() const;
    void refresh_deadline();
    // Minimum send rate: each send_timeout-long window of writing must see the client take at
    // least min_send_rate bytes a second, measured by what left the socket's send queue.
    void start_rate_window();
    uint64_t taken_in_rate_window() const;
    void log_exchange(int status_override = 0);

    Server& server_;
    Transport* transport_ = nullptr;  // plain_ or owned_transport_
    std::optional<PlainTransport> plain_;
    std::unique_ptr<Transport> owned_transport_;  // TLS (and test fakes)
    TlsTransport* tls_ = nullptr;                 // transport_ when it is TLS
    std::string_view hsts_;  // Strict-Transport-Security of the exchange's site (TLS)
    sockaddr_storage peer_{};

    // Input state, leased from pools only while a request is in progress.
    std::unique_ptr<char[]> buf_;
    std::unique_ptr<http::RequestParser> parser_;
    uint32_t len_ = 0;  // bytes in buf_
    uint32_t fed_ = 0;  // bytes of buf_ the parser has consumed

    std::unique_ptr<http::Exchange>
        exchange_;  // leased from the server while a request is in flight
    std::unique_ptr<Outgoing> out_;
    std::unique_ptr<TunnelRelay> relay_;  // in State::tunnel
    State state_ = State::reading_head;
    Transport::Want watching_ = Transport::Want::nothing;  // what the transport waits for
    bool socket_drained_ = false;  // the last read left the socket's receive queue empty
    bool peer_eof_ = false;
    bool close_after_ = false;    // the response in flight ends the connection
    bool client_closes_ = false;  // the last request did not ask for keep-alive
    bool body_done_ = false;      // the current request's body has been read whole
    bool in_process_ = false;     // inside process_input(): it goes on with pipelined input
    uint64_t last_activity_ms_ = 0;
    uint64_t message_start_ms_ = 0;
    uint64_t deadline_ms_ = 0;
    uint64_t lingering_bytes_ = 0;
    uint64_t rate_window_start_ms_ = 0;
    uint64_t rate_window_sent_ = 0;    // bytes handed to the kernel in this window
    uint64_t rate_window_queued_ = 0;  // bytes in the send queue when the window started
};

}  // namespace minid
