// Http1Session implementation. One response is in flight at a time: while it is being written
// (or its handler is busy) the session reads nothing more, which is the back-pressure that bounds
// memory per client, and pipelined requests wait in the input buffer.
#include "worker/session/http1_session.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/log.hpp"
#include "worker/http/http1_serializer.hpp"
#include "worker/server.hpp"
#include "worker/transport/tls_transport.hpp"

namespace minid {
namespace {

// How long a gracefully closing connection may keep sending before we stop listening, and how
// much of it we read and discard: enough for a request that crossed our FIN on the wire.
constexpr uint64_t kLingerMs = 2000;
// Closing an idle keep-alive connection while draining sent no response that could be lost,
// so a short wait for the client's FIN is enough.
constexpr uint64_t kIdleLingerMs = 500;
constexpr uint64_t kLingerMaxBytes = 1 << 20;
// A draining worker closes a keep-alive connection only after it stayed idle this long, so a
// next request that is already on the wire gets answered (with Connection: close) instead of
// meeting a closed socket.
constexpr uint64_t kDrainIdleGraceMs = 1000;
// Reads a single wake-up may do before other connections get a turn.
constexpr int kMaxReadsPerWakeup = 4;
// File bytes one connection sends per loop turn before it lets the others have theirs, as
// lighttpd does (MAX_WRITE_LIMIT, also 256 KiB). One 1 MiB sendfile per response held the loop
// and, on loopback, halved the rate of 8 clients fetching 1 MiB (bench/NOTES.md, "Big files").
constexpr uint64_t kFileBytesPerTurn = 256 << 10;
constexpr uint64_t kNoDeadline = UINT64_MAX;
// nginx's status for a request whose client closed the connection before the response.
constexpr int kClientClosedRequest = 499;

constexpr std::string_view kChunkEnd = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr std::string_view kChunkEndAndLast = "\r\n0\r\n\r\n";

}  // namespace

struct Http1Session::Outgoing {
    std::string head;  // unsent rest of the head
    size_t head_off = 0;
    char prefix[20];  // chunk-size line of the current stream piece
    uint8_t prefix_len = 0;
    uint8_t prefix_off = 0;
    std::string_view body;  // unsent memory body, or the current stream piece
    std::shared_ptr<const void> body_owner;
    std::string_view suffix;  // chunk end (and last chunk): static storage
    std::shared_ptr<const http::OpenFile> file;
    uint64_t file_offset = 0;
    uint64_t file_left = 0;
    bool stream = false;   // the body is a stream: more pieces follow until the last
    bool chunked = false;  // stream pieces are framed as chunks
    bool stream_last_queued = false;
    bool awaiting_producer = false;  // everything queued went out; the producer has the turn
    bool in_proceed = false;         // inside Producer::proceed (a write there is queued only)

    bool empty() const {
        return head_off == head.size() && prefix_off == prefix_len && body.empty() &&
               suffix.empty() && file_left == 0;
    }
};

Http1Session::Http1Session(Server& server, const sockaddr_storage& peer)
    : server_(server), peer_(peer) {}

Http1Session::~Http1Session() {
    if (exchange_) {
        exchange_->cancel();
        server_.release_exchange(std::move(exchange_));
    }
    if (buf_) server_.buffers().release(std::move(buf_));
    if (parser_) server_.release_parser(std::move(parser_));
}

void Http1Session::start(bool data_expected) {
    // TCP_NODELAY comes from the listening socket (Listener::create); accepted sockets inherit it.
    last_activity_ms_ = server_.now_ms();
    refresh_deadline();
    if (data_expected) on_readable();
    if ((state_ == State::reading_head || state_ == State::reading_body) &&
        !want(Transport::Want::read))
        close_now();  // could not register: nothing would ever wake it
}

bool Http1Session::want(Transport::Want w) {
    if (Status st = transport_->watch(w); !st) {
        // Only ENOMEM/ENOSPC (max_user_watches) can get here; the sweep cuts the connection when
        // its deadline passes.
        log::error(st.error());
        return false;
    }
    watching_ = w;
    return true;
}

void Http1Session::on_io(uint32_t events) noexcept {
    if (events & EPOLLERR) {
        // The socket is broken (reset, unreachable): nothing more can be sent.
        close_now();
        return;
    }
    switch (state_) {
        case State::reading_head:
        case State::reading_body:
            on_readable();
            return;
        case State::waiting_handler:
            if (events & (EPOLLRDHUP | EPOLLHUP)) {
                on_peer_gone();
                return;
            }
            // Input (or the client's FIN) while the handler works: from now on only the peer
            // closing matters, and level-triggered EPOLLIN would fire again and again.
            if (events & EPOLLIN) want(Transport::Want::peer_close);
            return;
        case State::writing:
            if (out_ && out_->awaiting_producer) {
                if (events & (EPOLLRDHUP | EPOLLHUP)) on_peer_gone();
                return;
            }
            on_writable();
            return;
        case State::tunnel:
            relay_->on_client_io(events);
            return;
        case State::lingering:
            on_lingering_readable();
            return;
        case State::closing:
            return;
    }
}

void Http1Session::acquire_input() {
    if (!buf_) buf_ = server_.buffers().acquire();
    if (!parser_) parser_ = server_.acquire_parser();
}

bool Http1Session::idle() const {
    return state_ == State::reading_head && len_ == 0 && !exchange_ && !out_ &&
           (!parser_ || parser_->between_messages());
}

void Http1Session::release_input_if_idle() {
    if (!idle()) return;
    if (buf_) server_.buffers().release(std::move(buf_));
    if (parser_) server_.release_parser(std::move(parser_));
    len_ = fed_ = 0;
}

void Http1Session::compact_input() {
    // The finished request's views are dead: move what follows to the front so a next head
    // always starts at buf_[0] and can use the whole buffer.
    if (fed_ == 0) return;
    if (fed_ < len_) std::memmove(buf_.get(), buf_.get() + fed_, len_ - fed_);
    len_ -= fed_;
    fed_ = 0;
}

void Http1Session::refresh_deadline() {
    const Config& cfg = server_.config();
    switch (state_) {
        case State::reading_head:
            if (tls_ && !tls_->handshake_done()) {
                // header_timeout covers the TLS handshake: a new connection's first request
                // (handshake included) must arrive within it.
                deadline_ms_ =
                    last_activity_ms_ + static_cast<uint64_t>(cfg.header_timeout.count());
            } else if (idle()) {
                deadline_ms_ =
                    last_activity_ms_ + static_cast<uint64_t>(cfg.keepalive_timeout.count());
                if (server_.draining())
                    deadline_ms_ = std::min(deadline_ms_, last_activity_ms_ + kDrainIdleGraceMs);
            } else {
                deadline_ms_ =
                    message_start_ms_ + static_cast<uint64_t>(cfg.header_timeout.count());
            }
            break;
        case State::reading_body:
            // Head and body together get header_timeout, or a slow body could hold the
            // connection for as long as it trickles (slowhttptest -B).
            deadline_ms_ = message_start_ms_ + static_cast<uint64_t>(cfg.header_timeout.count());
            break;
        case State::waiting_handler:
            deadline_ms_ =
                kNoDeadline;  // the handler keeps its own time (graceful_timeout bounds it)
            break;
        case State::writing:
            deadline_ms_ =
                out_ && out_->awaiting_producer
                    ? kNoDeadline
                    : rate_window_start_ms_ + static_cast<uint64_t>(cfg.send_timeout.count());
            break;
        case State::tunnel:
            deadline_ms_ = last_activity_ms_ + relay_->idle_timeout_ms();
            break;
        case State::lingering:
        case State::closing:
            break;  // fixed when lingering starts
    }
}

void Http1Session::start_rate_window() {
    rate_window_start_ms_ = server_.now_ms();
    rate_window_sent_ = 0;
    rate_window_queued_ = transport_->unsent_bytes();
}

uint64_t Http1Session::taken_in_rate_window() const {
    // What went into the send queue, minus what is still there beyond its level at the start.
    const uint64_t in = rate_window_sent_ + rate_window_queued_;
    const uint64_t still = transport_->unsent_bytes();
    return in > still ? in - still : 0;
}

bool Http1Session::evict_if_idle(uint64_t now_ms, uint64_t min_idle_ms) {
    if (!idle() || now_ms < last_activity_ms_ + min_idle_ms) return false;
    // Like a drain: no response can be lost, and a request already on the wire is read and
    // dropped rather than answered with a reset.
    begin_lingering_close();
    if (deadline_ms_ != 0) deadline_ms_ = now_ms + kIdleLingerMs;
    return true;
}

void Http1Session::on_drain_started() {
    if (idle()) refresh_deadline();
}

void Http1Session::check_deadline(uint64_t now_ms) {
    if (now_ms < deadline_ms_) return;
    switch (state_) {
        case State::reading_head:
            if (tls_ && !tls_->handshake_done()) tls_->note_handshake_timeout();
            if (idle()) {
                if (server_.draining()) {
                    begin_lingering_close();
                    if (deadline_ms_ != 0) deadline_ms_ = server_.now_ms() + kIdleLingerMs;
                } else {
                    close_now();  // keep-alive timeout
                }
            } else if (len_ > 0) {
                refuse(408, "request head did not arrive within header_timeout");
            } else {
                close_now();
            }
            return;
        case State::reading_body:
            refuse(408, "request body did not arrive within header_timeout");
            return;
        case State::waiting_handler:
            return;
        case State::writing: {
            // Judged by what the client took out of the send queue over the window, not by our
            // own writes: once the rest of a response fits in the socket's buffer we write
            // nothing more, however steadily the client reads. Below min_send_rate a reader is
            // taken for a slow-read attack (slowhttptest -X reads a few bytes every few seconds
            // to hold a connection for ever); the default 512 B/s is far below any real link
            // (GPRS does 5 KB/s).
            const auto window = static_cast<uint64_t>(server_.config().send_timeout.count());
            const uint64_t min_rate = server_.config().min_send_rate;
            const uint64_t taken = taken_in_rate_window();
            if (taken == 0) {
                log::debug("resetting a connection whose client read nothing for ", window, " ms");
                abort_now();
                return;
            }
            if (taken < min_rate * window / 1000) {
                log::debug("resetting a connection whose client read only ", taken, " bytes in ",
                           window, " ms (minimum ", min_rate, " bytes/s)");
                abort_now();
                return;
            }
            start_rate_window();
            refresh_deadline();
            return;
        }
        case State::tunnel:
            log::debug("closing a tunnel idle for ", relay_->idle_timeout_ms(), " ms");
            close_now();
            return;
        case State::lingering:
            close_now();
            return;
        case State::closing:
            return;
    }
}

void Http1Session::on_readable() {
    for (int i = 0;
         i < kMaxReadsPerWakeup && (state_ == State::reading_head || state_ == State::reading_body);
         ++i) {
        const bool was_idle = idle();
        acquire_input();
        const size_t cap = server_.buffers().buffer_size();
        if (len_ >= cap) {
            // Cannot happen while the parser enforces max_header_size below the buffer size;
            // treat it as an oversized head rather than spinning.
            refuse(431, "request head does not fit the input buffer");
            return;
        }
        const size_t room = cap - len_;
        const IoResult r = transport_->read(buf_.get() + len_, room);
        if (r.kind == IoResult::Kind::would_block) {
            socket_drained_ = true;
            break;
        }
        if (r.kind != IoResult::Kind::done) {
            if (r.kind == IoResult::Kind::failed && r.error == EPROTO) {
                // TLS refused the peer's bytes (garbage, plain HTTP, an old version): its alert
                // goes out, then a FIN after the rest is read and dropped, not a reset.
                begin_lingering_close();
                return;
            }
            if (r.kind == IoResult::Kind::failed && r.error != ECONNRESET)
                log::debug(sys_error("read", "connection", r.error));
            // The client is done sending. Everything complete that it sent was answered (we
            // process before reading again); a request cut short cannot be.
            peer_eof_ = true;
            close_now();
            return;
        }
        const uint64_t now = server_.now_ms();
        if (was_idle) message_start_ms_ = now;
        last_activity_ms_ = now;
        len_ += static_cast<uint32_t>(r.bytes);
        socket_drained_ = r.bytes < room;  // a short read empties the socket
        server_.count_bytes(r.bytes, 0);
        process_input();
        if (socket_drained_) break;
    }
    if (state_ == State::reading_head || state_ == State::reading_body) {
        release_input_if_idle();
        refresh_deadline();
        if (transport_->has_buffered_input()) server_.poller().schedule(this);
    }
}

void Http1Session::process_input() {
    in_process_ = true;
    struct Done {
        bool& flag;
        ~Done() { flag = false; }
    } done{in_process_};
    // While a body is open the parser may finish the message without new bytes (a GET with
    // no body ends right after its head), so it is asked even when nothing is left to feed.
    while ((state_ == State::reading_head && fed_ < len_) || state_ == State::reading_body) {
        const auto out = parser_->execute(buf_.get() + fed_, len_ - fed_);
        fed_ += static_cast<uint32_t>(out.consumed);
        switch (out.event) {
            case http::RequestParser::Event::head:
                begin_exchange();
                break;
            case http::RequestParser::Event::body:
                on_body_piece(out.body);
                break;
            case http::RequestParser::Event::message_complete:
                on_message_complete();
                break;
            case http::RequestParser::Event::need_more:
                if (state_ == State::reading_body) {
                    // Body bytes are used up: the head is the only thing left that the exchange
                    // may still look at, so it gets a copy and the buffer is free again.
                    if (exchange_) exchange_->own_request();
                    len_ = fed_ = 0;
                }
                return;
            case http::RequestParser::Event::error:
                refuse(parser_->error_status(), parser_->error_reason());
                return;
        }
    }
}

void Http1Session::begin_exchange() {
    const http::Request& req = parser_->request();
    exchange_ = server_.acquire_exchange();
    exchange_->begin(this, req, reinterpret_cast<const sockaddr*>(&peer_), server_.now_seconds());
    client_closes_ = !req.keep_alive && !req.has_body;
    body_done_ = false;
    state_ = State::reading_body;
    http::Exchange& ex = *exchange_;
    hsts_ = {};
    ex.secure = tls_ != nullptr;
    server_.handler_for(req, tls_, &hsts_).handle(ex);
    if (exchange_.get() != &ex || ex.responded()) return;
    // A handler that answers later keeps the request past this call: it gets its own copy.
    ex.own_request();
    // A handler that reads the body (the proxy) answers "Expect: 100-continue" itself: the
    // client may wait for it before sending the body.
    if (ex.body_reader() && req.expect_continue && req.has_body && req.version_minor >= 1)
        send_continue();
}

void Http1Session::send_continue() {
    // Nothing else is in flight on the connection (one response at a time), so the socket
    // takes these few bytes whole; if it does not, the connection is broken.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    const iovec iov{const_cast<char*>(kContinue.data()), kContinue.size()};
    const IoResult w = transport_->write(&iov, 1, false);
    if (w.kind == IoResult::Kind::done && w.bytes == kContinue.size()) {
        server_.count_bytes(0, w.bytes);
        return;
    }
    log::debug("could not send 100 Continue; closing the connection");
    close_now();
}

void Http1Session::on_body_piece(std::string_view piece) {
    if (exchange_ && exchange_->body_reader())
        exchange_->body_reader()->on_request_body(*exchange_, piece, false);
}

void Http1Session::on_message_complete() {
    body_done_ = true;
    if (!exchange_) return;
    if (exchange_->body_reader()) exchange_->body_reader()->on_request_body(*exchange_, {}, true);
    if (state_ != State::reading_body || !exchange_) return;
    if (exchange_->responded()) {
        start_response();
        return;
    }
    state_ = State::waiting_handler;
    exchange_->own_request();
    refresh_deadline();
    // Nothing more is read until the answer went out, but a client that leaves must be noticed.
    // A plain socket keeps its EPOLLIN registration meanwhile (on_io switches it if anything
    // arrives): two epoll_ctl calls fewer for each request answered later (a proxied one).
    if (tls_ || watching_ != Transport::Want::read) want(Transport::Want::peer_close);
}

void Http1Session::exchange_responded(http::Exchange& ex) noexcept {
    if (&ex != exchange_.get()) return;
    switch (state_) {
        case State::waiting_handler:
            start_response();
            return;
        case State::reading_body:
            // Held until the body is read whole, so that a malformed body still gets its 400
            // instead of a response followed by a cut. Except where the client waits for an
            // answer before it sends the body (Expect: 100-continue) and the handler does not
            // want it: that answer goes out now and the connection ends after it.
            if (!body_done_ && ex.request().expect_continue && ex.response().close)
                start_response();
            return;
        default:
            return;
    }
}

void Http1Session::exchange_wrote(http::Exchange& ex) noexcept {
    if (&ex != exchange_.get() || state_ != State::writing || !out_ || !out_->stream) return;
    if (out_->in_proceed || !out_->empty()) return;  // taken when the queue empties
    queue_stream_piece();
    on_writable();
}

void Http1Session::exchange_aborted(http::Exchange& ex) noexcept {
    if (&ex != exchange_.get()) return;
    log::debug("a streamed response broke off; resetting the client connection");
    abort_now();
}

void Http1Session::refuse(int status, std::string_view reason) {
    server_.log_refused(reinterpret_cast<const sockaddr*>(&peer_), status, reason);
    if (exchange_) {
        // A body that turned out malformed: whatever the handler answered is dropped.
        exchange_->cancel();
        server_.release_exchange(std::move(exchange_));
    }
    out_.reset();
    static const http::Request kNoRequest{};
    const http::Request& req = parser_ ? parser_->request() : kNoRequest;
    exchange_ = server_.acquire_exchange();
    exchange_->begin(this, req, reinterpret_cast<const sockaddr*>(&peer_), server_.now_seconds());
    server_.error_handler().error(status, server_.now_seconds(), exchange_->response());
    // Nothing after a framing error may be read as a request, and the connection lingers
    // rather than closing outright, so the client reads the answer before any reset.
    client_closes_ = false;
    body_done_ = true;
    fed_ = len_;
    state_ = State::waiting_handler;
    exchange_->respond();
}

void Http1Session::start_response() {
    http::Exchange& ex = *exchange_;
    http::Response& r = ex.response();
    const http::Request& req = ex.request();
    bool keep = req.keep_alive && !server_.draining() && !peer_eof_ && !r.close && body_done_;
    const bool stream = r.body_kind == http::Response::BodyKind::stream;
    bool chunked = false;
    if (stream && r.body_length == http::Response::kUnknownLength) {
        // HTTP/1.0 has no chunked coding: such a body ends with the connection.
        if (req.version_minor >= 1)
            chunked = true;
        else
            keep = false;
    }
    close_after_ = !keep;
    auto persistence = !keep                    ? http::Http1Persistence::close
                       : req.version_minor == 0 ? http::Http1Persistence::keep_announce
                                                : http::Http1Persistence::keep;
    if (ex.tunnel) {
        // A 101: the connection goes on as a tunnel, neither kept for requests nor closed.
        close_after_ = false;
        persistence = http::Http1Persistence::keep;
        r.head.field("Connection", "upgrade");
    }
    if (!hsts_.empty()) r.head.field("Strict-Transport-Security", hsts_);
    std::string& head = server_.scratch_head();
    http::write_http1_head(r, persistence, chunked, head);
    state_ = State::writing;

    const bool memory_body = r.body_kind == http::Response::BodyKind::memory && r.body_length > 0;
    const bool file_body = r.body_kind == http::Response::BodyKind::file && r.body_length > 0;
    size_t sent = 0;
    if (!stream) {
        // Head and a memory body go out in one sendmsg; a file body follows the head via
        // sendfile. A closing response is followed at once by close() or shutdown(): MSG_MORE
        // lets the kernel put the FIN on the same segment, one packet fewer per connection.
        iovec iov[2];
        int iovcnt = 0;
        iov[iovcnt++] = {head.data(), head.size()};
        if (memory_body) iov[iovcnt++] = {const_cast<char*>(r.memory.data()), r.body_length};
        const IoResult w = transport_->write(iov, iovcnt, file_body || close_after_);
        if (w.kind == IoResult::Kind::failed) {
            if (w.error != EPIPE && w.error != ECONNRESET)
                log::debug(sys_error("send", "response", w.error));
            close_now();
            return;
        }
        sent = w.bytes;
        if (sent > 0) {
            server_.count_bytes(0, sent);
            last_activity_ms_ = server_.now_ms();
        }
        const size_t total = head.size() + (memory_body ? r.body_length : 0);
        if (sent == total && !file_body) {
            ex.body_bytes_sent = memory_body ? r.body_length : 0;
            finish_exchange();
            return;
        }
    }

    // The slow path, files and streams: keep what is left; owners keep memory and file alive.
    out_ = std::make_unique<Outgoing>();
    Outgoing& o = *out_;
    const size_t head_sent = std::min(sent, head.size());
    o.head.assign(head, head_sent, std::string::npos);
    if (memory_body) {
        const size_t body_sent = sent - head_sent;
        ex.body_bytes_sent = body_sent;
        o.body = r.memory.substr(body_sent, r.body_length - body_sent);
        o.body_owner = r.memory_owner;
    }
    if (file_body) {
        o.file = r.file;
        o.file_offset = r.file_offset;
        o.file_left = r.body_length;
    }
    o.stream = stream;
    o.chunked = chunked;
    if (stream) queue_stream_piece();
    start_rate_window();
    on_writable();
}

void Http1Session::queue_stream_piece() {
    Outgoing& o = *out_;
    const std::string_view data = exchange_->stream_data();
    const bool last = exchange_->stream_ended();
    if (data.empty() && !last) return;
    exchange_->take_stream_data();
    o.awaiting_producer = false;
    o.body = data;
    o.body_owner.reset();
    o.prefix_len = o.prefix_off = 0;
    o.suffix = {};
    if (o.chunked) {
        if (!data.empty()) {
            char* end =
                std::to_chars(o.prefix, o.prefix + sizeof o.prefix - 2, data.size(), 16).ptr;
            *end++ = '\r';
            *end++ = '\n';
            o.prefix_len = static_cast<uint8_t>(end - o.prefix);
            o.suffix = last ? kChunkEndAndLast : kChunkEnd;
        } else {
            o.suffix = kLastChunk;
        }
    }
    o.stream_last_queued = last;
}

bool Http1Session::flush() {
    Outgoing& o = *out_;
    while (o.head_off < o.head.size() || o.prefix_off < o.prefix_len || !o.body.empty() ||
           !o.suffix.empty()) {
        iovec iov[4];
        int cnt = 0;
        if (o.head_off < o.head.size())
            iov[cnt++] = {o.head.data() + o.head_off, o.head.size() - o.head_off};
        if (o.prefix_off < o.prefix_len)
            iov[cnt++] = {o.prefix + o.prefix_off,
                          static_cast<size_t>(o.prefix_len - o.prefix_off)};
        if (!o.body.empty()) iov[cnt++] = {const_cast<char*>(o.body.data()), o.body.size()};
        if (!o.suffix.empty()) iov[cnt++] = {const_cast<char*>(o.suffix.data()), o.suffix.size()};
        const IoResult w = transport_->write(iov, cnt, o.file_left > 0);
        if (w.kind == IoResult::Kind::would_block) return false;
        if (w.kind != IoResult::Kind::done) {
            close_now();
            return false;
        }
        server_.count_bytes(0, w.bytes);
        last_activity_ms_ = server_.now_ms();
        rate_window_sent_ += w.bytes;
        size_t n = w.bytes;
        const size_t h = std::min(n, o.head.size() - o.head_off);
        o.head_off += h;
        n -= h;
        const size_t p = std::min<size_t>(n, o.prefix_len - o.prefix_off);
        o.prefix_off = static_cast<uint8_t>(o.prefix_off + p);
        n -= p;
        const size_t b = std::min(n, o.body.size());
        o.body.remove_prefix(b);
        exchange_->body_bytes_sent += b;
        n -= b;
        o.suffix.remove_prefix(std::min(n, o.suffix.size()));
    }
    uint64_t sent_this_turn = 0;
    while (o.file_left > 0) {
        // The socket is still writable, so the level-triggered poll brings us back next turn.
        if (sent_this_turn >= kFileBytesPerTurn) return false;
        const IoResult w =
            transport_->send_file(o.file->fd.get(), o.file_offset,
                                  std::min(o.file_left, kFileBytesPerTurn - sent_this_turn));
        if (w.kind == IoResult::Kind::would_block) return false;
        if (w.kind == IoResult::Kind::eof) {
            // The file shrank under us: the promised Content-Length cannot be met, so the only
            // honest thing left is to end the connection.
            log::warn("file shrank while being sent; closing the connection");
            close_now();
            return false;
        }
        if (w.kind == IoResult::Kind::failed) {
            if (w.error != EPIPE && w.error != ECONNRESET)
                log::error(sys_error("sendfile", "response body", w.error));
            close_now();
            return false;
        }
        server_.count_bytes(0, w.bytes);
        last_activity_ms_ = server_.now_ms();
        rate_window_sent_ += w.bytes;
        exchange_->body_bytes_sent += w.bytes;
        o.file_offset += w.bytes;
        o.file_left -= w.bytes;
        sent_this_turn += w.bytes;
    }
    return true;
}

void Http1Session::on_writable() {
    // Loops only for a stream whose producer hands over the next piece at once.
    while (state_ == State::writing && out_) {
        if (!flush()) {
            if (state_ == State::writing) {
                want(Transport::Want::write);
                refresh_deadline();
            }
            return;
        }
        Outgoing& o = *out_;
        if (!o.stream || o.stream_last_queued) {
            finish_exchange();
            return;
        }
        // Everything handed over is out: the producer's turn.
        o.awaiting_producer = true;
        o.in_proceed = true;
        exchange_->ask_for_more();
        if (state_ != State::writing || !out_) return;
        out_->in_proceed = false;
        queue_stream_piece();
        if (out_->awaiting_producer) {
            refresh_deadline();
            want(Transport::Want::peer_close);
            return;
        }
    }
}

void Http1Session::log_exchange(int status_override) {
    http::Exchange& ex = *exchange_;
    const int status = status_override != 0 ? status_override : ex.response().status();
    server_.access_log().append(reinterpret_cast<const sockaddr*>(&peer_), server_.now_seconds(),
                                ex.request(), status, ex.body_bytes_sent, ex.upstream_status,
                                ex.upstream_ms);
    server_.count_request(status);
}

void Http1Session::finish_exchange() {
    log_exchange();
    std::unique_ptr<http::TunnelPeer> tunnel = std::move(exchange_->tunnel);
    exchange_->complete();
    server_.release_exchange(std::move(exchange_));
    out_.reset();
    if (tunnel) {
        begin_tunnel(std::move(tunnel));
        return;
    }
    after_response(close_after_);
}

void Http1Session::begin_tunnel(std::unique_ptr<http::TunnelPeer> peer) {
    state_ = State::tunnel;
    // What the client sent after its request head belongs to the tunnel already.
    const std::string_view early =
        buf_ && fed_ < len_ ? std::string_view(buf_.get() + fed_, len_ - fed_) : std::string_view{};
    relay_ = std::make_unique<TunnelRelay>(static_cast<TunnelRelay::Owner&>(*this), *transport_,
                                           std::move(peer), early);
    if (buf_) server_.buffers().release(std::move(buf_));
    if (parser_) server_.release_parser(std::move(parser_));
    len_ = fed_ = 0;
    last_activity_ms_ = server_.now_ms();
    refresh_deadline();
    relay_->start();
    if (state_ == State::tunnel && relay_->reads_client() && transport_->has_buffered_input())
        server_.poller().schedule(this);
}

void Http1Session::tunnel_moved(uint64_t from_client, uint64_t to_client) noexcept {
    server_.count_bytes(from_client, to_client);
    last_activity_ms_ = server_.now_ms();
    refresh_deadline();
    // TLS may hold decrypted input that no epoll event will announce.
    if (relay_->reads_client() && transport_->has_buffered_input()) server_.poller().schedule(this);
}

void Http1Session::tunnel_ended(bool broken) noexcept {
    if (broken) {
        abort_now();  // a reset tells the client that the tunnel broke, not that it ended
    } else {
        close_now();
    }
}

void Http1Session::after_response(bool close) {
    if (!close) {
        state_ = State::reading_head;
        compact_input();
        want(Transport::Want::read);
        // Pipelined requests that arrived while we were writing are already buffered; the parse
        // loop that called us (if any) goes on with them.
        if (!in_process_ && len_ > 0) process_input();
        if (state_ != State::reading_head) return;
        release_input_if_idle();
        refresh_deadline();
        if (transport_->has_buffered_input()) server_.poller().schedule(this);
        return;
    }
    if (client_closes_ && fed_ == len_) {
        // The client asked to close (HTTP/1.0, Connection: close) and has nothing more in
        // flight: a plain close ends the exchange with a FIN after the response, without the
        // half-close, the wait for the client's FIN and its read (what one-connection-per-request
        // clients pay for). Anything already received means it may send more: linger instead.
        // Unless the last read emptied the socket, one more look makes sure nothing came since.
        // (A short TLS read only ended a record: TLS always looks.)
        if ((socket_drained_ && !tls_) ||
            transport_->read(server_.scratch_buffer(), server_.scratch_size()).kind !=
                IoResult::Kind::done) {
            close_now();
            return;
        }
    }
    // The lingering close reads and drops whatever the client still sends (the rest of a request
    // body, pipelined requests), so the client is not reset while it is still sending.
    begin_lingering_close();
}

void Http1Session::begin_lingering_close() {
    if (state_ == State::lingering || state_ == State::closing) return;
    if (exchange_) {
        log_exchange(exchange_->responded() ? 0 : kClientClosedRequest);
        exchange_->cancel();
        server_.release_exchange(std::move(exchange_));
    }
    // Half-close: the client sees a clean end of the response; whatever it still sends is read
    // and dropped so the kernel does not answer it with a reset that could destroy the
    // response before the client read it. If the peer is already gone shutdown() fails; the
    // sweep then closes the connection.
    const bool half_closed = transport_->shutdown_write();
    state_ = State::lingering;
    out_.reset();
    if (buf_) server_.buffers().release(std::move(buf_));
    if (parser_) server_.release_parser(std::move(parser_));
    len_ = fed_ = 0;
    deadline_ms_ = half_closed ? server_.now_ms() + kLingerMs : 0;
    want(Transport::Want::read);
}

void Http1Session::on_lingering_readable() {
    for (;;) {
        const IoResult r = transport_->read(server_.scratch_buffer(), server_.scratch_size());
        if (r.kind == IoResult::Kind::done) {
            lingering_bytes_ += r.bytes;
            if (lingering_bytes_ > kLingerMaxBytes) break;
            continue;
        }
        if (r.kind == IoResult::Kind::would_block) return;
        break;  // EOF or error: the client has finished too.
    }
    close_now();
}

void Http1Session::on_peer_gone() {
    // The client left while its request was being handled: the handler stops (Producer::cancel),
    // and the log says 499 as nginx's does.
    peer_eof_ = true;
    close_now();
}

void Http1Session::abort_now() {
    transport_->abort();
    close_now();
}

void Http1Session::close_now() {
    if (state_ == State::closing) return;
    if (exchange_) {
        log_exchange(exchange_->responded() ? 0 : kClientClosedRequest);
        exchange_->cancel();
        server_.release_exchange(std::move(exchange_));
    }
    state_ = State::closing;
    out_.reset();
    // The relay itself goes with the session (this may run inside one of its calls).
    if (relay_) relay_->stop();
    if (buf_) server_.buffers().release(std::move(buf_));
    if (parser_) server_.release_parser(std::move(parser_));
    len_ = fed_ = 0;
    server_.poller().unschedule(this);
    transport_->close();
    server_.session_closed(this);
}

}  // namespace minid
