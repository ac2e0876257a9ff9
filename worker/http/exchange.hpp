// Exchange: one request and its response, as the session and a handler share them. It owns what
// must outlive the input buffer (a copy of the request head, once the handler keeps it beyond the
// call), the structured response and, for streamed bodies, the data handed over but not yet sent.
// No I/O here: the session (Exchange::Owner) does that.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "worker/http/request.hpp"
#include "worker/http/response.hpp"
#include "worker/http/tunnel_peer.hpp"

namespace minid::http {

class Exchange {
  public:
    // The session side: told when the handler answered or streamed more.
    class Owner {
      public:
        virtual void exchange_responded(Exchange& ex) noexcept = 0;
        virtual void exchange_wrote(Exchange& ex) noexcept = 0;
        // A streamed response cannot be finished (its source broke): the connection is reset,
        // so the client sees a cut rather than a short body it could take for whole.
        virtual void exchange_aborted(Exchange& ex) noexcept = 0;

      protected:
        ~Owner() = default;
    };

    // The handler side of an exchange answered later or streamed.
    class Producer {
      public:
        // Everything written so far has been handed to the client: write more, or finish.
        virtual void proceed(Exchange& ex) noexcept = 0;
        // The exchange ends without the handler (the client left, the worker stops, the request
        // body was malformed). The exchange is freed right after: do not touch it again.
        virtual void cancel(Exchange& ex) noexcept = 0;

      protected:
        ~Producer() = default;
    };

    // A handler that consumes the request body.
    class BodyReader {
      public:
        // `data` is valid during the call only; `last` marks the end of the body.
        virtual void on_request_body(Exchange& ex, std::string_view data, bool last) noexcept = 0;

      protected:
        ~BodyReader() = default;
    };

    enum class Phase : uint8_t {
        idle,       // not in use (pooled)
        handling,   // the handler has the request and has not answered yet
        responded,  // the head and body source are set
        complete,   // the last byte was handed to the transport, or the exchange failed
    };

    // --- for handlers ---
    const Request& request() const { return *request_; }
    std::time_t now() const { return now_; }
    const sockaddr* peer() const { return peer_; }
    // Fill this, then call respond().
    Response& response() { return response_; }
    // The response is ready: head and body source. Once per exchange.
    void respond();
    // For a stream body: hands over the next piece. `data` must stay valid until proceed() or
    // cancel() is called. `last` ends the body (data may be empty then).
    void write(std::string_view data, bool last);
    // Ends a responded stream by resetting the connection; the producer is not called again.
    void abort();
    void set_producer(Producer* p) { producer_ = p; }
    void set_body_reader(BodyReader* r) { body_reader_ = r; }

    // --- for the session ---
    Exchange() : request_(&owned_request_) {}
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;
    // `request` must stay valid until own_request() or the end of the exchange.
    void begin(Owner* owner, const Request& request, const sockaddr* peer, std::time_t now);
    // Copies the request head into the exchange, for a handler that keeps it past the input
    // buffer's reuse. Cheap to call again: it copies once.
    void own_request();
    Phase phase() const { return phase_; }
    bool responded() const { return phase_ >= Phase::responded; }
    BodyReader* body_reader() const { return body_reader_; }
    // Stream data handed over and not yet taken by the session.
    std::string_view stream_data() const { return stream_data_; }
    bool stream_ended() const { return stream_last_; }
    // The session took stream_data(); the producer is asked for more when it has been sent.
    void take_stream_data() { stream_data_ = {}; }
    void ask_for_more();
    // Ends the exchange without its handler (calls Producer::cancel if one is registered).
    void cancel();
    void complete() { phase_ = Phase::complete; }
    // Bytes of the response body handed to the transport (for the access log and stats).
    uint64_t body_bytes_sent = 0;
    // The request came over TLS (set by the session; X-Forwarded-Proto).
    bool secure = false;
    // A proxied request: the upstream's status (0 = none) and its time to the whole response
    // (or to the head of a streamed one), for the access log.
    int upstream_status = 0;
    uint32_t upstream_ms = 0;
    // Set by a handler with a 101 response: once the head is out the session relays bytes
    // between the client and this peer (an upgraded connection) instead of reading requests.
    std::unique_ptr<TunnelPeer> tunnel;
    // Clears everything for reuse (pooled by the server).
    void reset();

  private:
    Owner* owner_ = nullptr;
    Producer* producer_ = nullptr;
    BodyReader* body_reader_ = nullptr;
    Phase phase_ = Phase::idle;
    // The session's parsed request until own_request(), then owned_request_: a handler that
    // answers at once costs no copy of the request.
    const Request* request_;
    Request owned_request_;
    bool request_owned_ = false;
    std::string arena_;            // the copied head bytes (own_request)
    std::vector<Header> headers_;  // the copied header table (own_request)
    const sockaddr* peer_ = nullptr;
    std::time_t now_ = 0;
    Response response_;
    std::string_view stream_data_;
    bool stream_last_ = false;
};

}  // namespace minid::http
