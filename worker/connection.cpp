// Connection implementation. One response is in flight at a time: while it cannot be written
// the connection stops reading, which is the back-pressure that bounds memory per client.
#include "worker/connection.hpp"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "worker/server.hpp"

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
// Bytes a single read may take before other connections get a turn.
constexpr int kMaxReadsPerWakeup = 4;
constexpr uint64_t kMaxSendfileChunk = 1 << 20;

// Bytes the kernel still holds for the peer (unsent or unacknowledged); 0 if unknown.
uint64_t send_queue_bytes(int fd) {
    int queued = 0;
    if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued < 0) return 0;
    return static_cast<uint64_t>(queued);
}

bool is_soft_error(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

}  // namespace

Connection::Connection(Server& server, UniqueFd fd, const sockaddr_storage& peer)
    : server_(server), fd_(std::move(fd)), peer_(peer) {}

Connection::~Connection() {
    // The fd closes with fd_ and leaves the epoll set by itself; events for it that were already
    // fetched must not reach freed memory.
    server_.poller().forget(this);
    if (buf_) server_.buffers().release(std::move(buf_));
    if (parser_) server_.release_parser(std::move(parser_));
}

void Connection::start(bool data_expected) {
    // TCP_NODELAY comes from the listening socket (Listener::create); accepted sockets inherit it.
    last_activity_ms_ = server_.now_ms();
    refresh_deadline();
    if (data_expected && !on_readable()) return;
    if (poll_events_ == 0) set_poll(EPOLLIN);
    if (poll_events_ == 0) close_now();  // could not register: nothing would ever wake it
}

void Connection::set_poll(uint32_t events) {
    if (events == poll_events_) return;
    Status st = poll_events_ != 0 ? server_.poller().modify(fd_.get(), events, this)
                                  : server_.poller().add(fd_.get(), events, this);
    if (!st) {
        // Only ENOMEM/ENOSPC (max_user_watches) can get here; the sweep cuts the connection when
        // its deadline passes.
        log::error(st.error());
        return;
    }
    poll_events_ = events;
}

void Connection::on_io(uint32_t events) noexcept {
    if (events & EPOLLERR) {
        // The socket is broken (reset, unreachable): nothing more can be sent.
        close_now();
        return;
    }
    // A hang-up is news for whichever direction we wait on: the read or write says what it is.
    if (events & EPOLLHUP) events |= poll_events_;
    switch (state_) {
        case State::reading:
            if (events & EPOLLIN) on_readable();
            return;
        case State::writing:
            if (events & EPOLLOUT) on_writable();
            return;
        case State::lingering:
            if (events & EPOLLIN) on_lingering_readable();
            return;
    }
}

void Connection::acquire_input() {
    if (!buf_) buf_ = server_.buffers().acquire();
    if (!parser_) parser_ = server_.acquire_parser();
}

bool Connection::idle() const {
    return state_ == State::reading && len_ == 0 && !in_body_ && !pending_ &&
           (!parser_ || parser_->between_messages());
}

void Connection::release_input_if_idle() {
    if (!idle()) return;
    if (buf_) server_.buffers().release(std::move(buf_));
    if (parser_) server_.release_parser(std::move(parser_));
    len_ = fed_ = 0;
}

void Connection::refresh_deadline() {
    const Config& cfg = server_.config();
    switch (state_) {
        case State::reading:
            if (idle()) {
                deadline_ms_ =
                    last_activity_ms_ + static_cast<uint64_t>(cfg.keepalive_timeout.count());
                if (server_.draining())
                    deadline_ms_ = std::min(deadline_ms_, last_activity_ms_ + kDrainIdleGraceMs);
            } else if (in_body_) {
                // The body is only read to be dropped (the request was answered at its head):
                // head and body together get header_timeout, or a slow body could hold the
                // connection for as long as it trickles (slowhttptest -B).
                deadline_ms_ =
                    message_start_ms_ + static_cast<uint64_t>(cfg.header_timeout.count());
            } else {
                deadline_ms_ =
                    message_start_ms_ + static_cast<uint64_t>(cfg.header_timeout.count());
            }
            break;
        case State::writing:
            deadline_ms_ = rate_window_start_ms_ + static_cast<uint64_t>(cfg.send_timeout.count());
            break;
        case State::lingering:
            break;  // fixed when lingering starts
    }
}

void Connection::start_rate_window() {
    rate_window_start_ms_ = server_.now_ms();
    rate_window_sent_ = 0;
    rate_window_queued_ = send_queue_bytes(fd_.get());
}

uint64_t Connection::taken_in_rate_window() const {
    // What went into the send queue, minus what is still there beyond its level at the start.
    const uint64_t in = rate_window_sent_ + rate_window_queued_;
    const uint64_t still = send_queue_bytes(fd_.get());
    return in > still ? in - still : 0;
}

bool Connection::evict_if_idle(uint64_t now_ms, uint64_t min_idle_ms) {
    if (!idle() || now_ms < last_activity_ms_ + min_idle_ms) return false;
    // Like a drain: no response can be lost, and a request already on the wire is read and
    // dropped rather than answered with a reset.
    begin_lingering_close();
    if (deadline_ms_ != 0) deadline_ms_ = now_ms + kIdleLingerMs;
    return true;
}

void Connection::on_drain_started() {
    if (idle()) refresh_deadline();
}

void Connection::check_deadline(uint64_t now_ms) {
    if (now_ms < deadline_ms_) return;
    switch (state_) {
        case State::reading:
            if (idle()) {
                if (server_.draining()) {
                    begin_lingering_close();
                    if (deadline_ms_ != 0) deadline_ms_ = server_.now_ms() + kIdleLingerMs;
                } else
                    close_now();  // keep-alive timeout
            } else if (!in_body_ && len_ > 0) {
                respond_error(408);  // request head did not arrive in time
            } else if (in_body_) {
                // Answered already: let the client read the answer, drop what it still sends.
                begin_lingering_close();
            } else {
                close_now();
            }
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
        case State::lingering:
            close_now();
            return;
    }
}

bool Connection::on_readable() {
    for (int i = 0; i < kMaxReadsPerWakeup && state_ == State::reading; ++i) {
        const bool was_idle = idle();
        acquire_input();
        const size_t cap = server_.buffers().buffer_size();
        if (len_ >= cap) {
            // Cannot happen while the parser enforces max_header_size below the buffer size;
            // treat it as an oversized head rather than spinning.
            return respond_error(431);
        }
        const size_t room = cap - len_;
        // recv, not read: it skips the VFS layer, 50-85 ns a call on loopback TCP
        // (bench/micro/read_vs_recv.c).
        ssize_t n = ::recv(fd_.get(), buf_.get() + len_, room, 0);
        if (n < 0) {
            if (is_soft_error(errno)) {
                socket_drained_ = true;
                release_input_if_idle();
                return true;
            }
            if (errno != ECONNRESET) log::debug(sys_error("read", "connection", errno));
            close_now();
            return false;
        }
        if (n == 0) {
            // The client is done sending. Everything it sent was answered (we process before
            // reading again), so there is nothing left to do.
            peer_eof_ = true;
            close_now();
            return false;
        }
        const uint64_t now = server_.now_ms();
        if (was_idle) message_start_ms_ = now;
        last_activity_ms_ = now;
        len_ += static_cast<uint32_t>(n);
        socket_drained_ = static_cast<size_t>(n) < room;  // a short read empties the socket
        server_.count_bytes(static_cast<uint64_t>(n), 0);
        if (!process_input()) return false;
        if (socket_drained_) break;
    }
    if (state_ == State::reading) {
        release_input_if_idle();
        refresh_deadline();
    }
    return true;
}

bool Connection::process_input() {
    // While a body is open the parser may finish the message without new bytes (a GET with
    // no body ends right after its head), so it is asked even when nothing is left to feed.
    while (state_ == State::reading && (fed_ < len_ || in_body_)) {
        auto out = parser_->execute(buf_.get() + fed_, len_ - fed_);
        fed_ += static_cast<uint32_t>(out.consumed);
        switch (out.event) {
            case http::RequestParser::Event::head:
                in_body_ = true;
                if (!respond()) return false;
                break;
            case http::RequestParser::Event::message_complete:
                in_body_ = false;
                // The finished request's views are dead: move what follows to the front so a
                // next head always starts at buf_[0] and can use the whole buffer.
                if (fed_ < len_) std::memmove(buf_.get(), buf_.get() + fed_, len_ - fed_);
                len_ -= fed_;
                fed_ = 0;
                message_start_ms_ = server_.now_ms();
                break;
            case http::RequestParser::Event::need_more:
                if (in_body_) len_ = fed_ = 0;  // body bytes are consumed and discarded
                return true;
            case http::RequestParser::Event::error:
                // A framing error inside a body comes after this request was answered: a second
                // response would be a stray one, so the connection just ends.
                if (in_body_) {
                    begin_lingering_close();
                    return true;
                }
                return respond_error(parser_->error_status());
        }
    }
    return true;
}

bool Connection::respond() {
    const http::Request& req = parser_->request();
    const bool keep = req.keep_alive && !server_.draining() && !peer_eof_;
    client_closes_ = !req.keep_alive && !req.has_body;
    http::Response& r = server_.scratch_response();
    server_.router().handler_for(req).handle(req, keep, server_.now_seconds(), r);
    server_.access_log().append(reinterpret_cast<const sockaddr*>(&peer_), server_.now_seconds(),
                                req, r.status, r.body_length);
    server_.count_request(r.status, 0);
    return send_response(r);
}

bool Connection::respond_error(int status) {
    http::Response& r = server_.scratch_response();
    server_.handler().error(status, server_.now_seconds(), r);
    server_.count_request(r.status, 0);
    in_body_ = false;
    len_ = fed_ = 0;  // nothing after a framing error may be read as a request
    if (!send_response(r)) return false;
    if (state_ == State::reading) {
        begin_lingering_close();
        return state_ == State::lingering;
    }
    return true;
}

bool Connection::send_response(http::Response& r) {
    // Head and a memory body go out in one writev; a file body follows the head via sendfile.
    iovec iov[2];
    int iovcnt = 0;
    iov[iovcnt++] = {r.head.data(), r.head.size()};
    const bool memory_body = r.body_kind == http::Response::BodyKind::memory && r.body_length > 0;
    if (memory_body) iov[iovcnt++] = {const_cast<char*>(r.memory.data()), r.body_length};
    const bool file_body = r.body_kind == http::Response::BodyKind::file && r.body_length > 0;

    size_t head_sent = 0;
    size_t mem_sent = 0;
    ssize_t n;
    if (file_body) {
        n = ::send(fd_.get(), r.head.data(), r.head.size(), MSG_MORE | MSG_NOSIGNAL);
    } else {
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<size_t>(iovcnt);
        // A closing response is followed at once by close() or shutdown(): holding it back with
        // MSG_MORE lets the kernel put the FIN on the same segment, one packet fewer per
        // connection for both ends. A partial send is pushed by the flush without MSG_MORE.
        n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | (r.close ? MSG_MORE : 0));
    }
    if (n < 0 && !is_soft_error(errno)) {
        if (errno != EPIPE && errno != ECONNRESET) log::debug(sys_error("send", "response", errno));
        close_now();
        return false;
    }
    if (n > 0) {
        server_.count_bytes(0, static_cast<uint64_t>(n));
        last_activity_ms_ = server_.now_ms();
        size_t sent = static_cast<size_t>(n);
        head_sent = std::min(sent, r.head.size());
        mem_sent = sent - head_sent;
    }

    uint64_t file_offset = r.file_offset;
    uint64_t file_left = file_body ? r.body_length : 0;
    if (file_body && head_sent == r.head.size()) {
        if (!send_file(*r.file, file_offset, file_left)) return false;
    }

    const size_t mem_total = memory_body ? r.body_length : 0;
    if (head_sent == r.head.size() && mem_sent == mem_total && file_left == 0) {
        return after_response(r.close);
    }

    // Slow path: keep the unsent rest; the shared owners keep memory and file alive.
    auto p = std::make_unique<Pending>();
    p->head.assign(r.head, head_sent, std::string::npos);
    if (memory_body) {
        p->memory = r.memory.substr(mem_sent, mem_total - mem_sent);
        p->memory_owner = r.memory_owner;
    }
    if (file_body) {
        p->file = r.file;
        p->file_offset = file_offset;
        p->remaining = file_left;
    }
    p->close = r.close;
    pending_ = std::move(p);
    state_ = State::writing;
    start_rate_window();
    refresh_deadline();
    set_poll(EPOLLOUT);
    return true;
}

bool Connection::send_file(const http::OpenFile& file, uint64_t& offset, uint64_t& remaining) {
    while (remaining > 0) {
        off_t off = static_cast<off_t>(offset);
        ssize_t s = ::sendfile(fd_.get(), file.fd.get(), &off,
                               std::min<uint64_t>(remaining, kMaxSendfileChunk));
        if (s < 0) {
            if (is_soft_error(errno)) return true;  // socket full: wait for writability
            if (errno != EPIPE && errno != ECONNRESET)
                log::error(sys_error("sendfile", "response body", errno));
            close_now();
            return false;
        }
        if (s == 0) {
            // The file shrank under us: the promised Content-Length cannot be met, so the only
            // honest thing left is to end the connection.
            log::warn("file shrank while being sent; closing the connection");
            close_now();
            return false;
        }
        server_.count_bytes(0, static_cast<uint64_t>(s));
        last_activity_ms_ = server_.now_ms();
        rate_window_sent_ += static_cast<uint64_t>(s);
        offset += static_cast<uint64_t>(s);
        remaining -= static_cast<uint64_t>(s);
    }
    return true;
}

bool Connection::flush_pending() {
    Pending& p = *pending_;
    while (p.head_off < p.head.size() || !p.memory.empty()) {
        iovec iov[2];
        int cnt = 0;
        if (p.head_off < p.head.size())
            iov[cnt++] = {p.head.data() + p.head_off, p.head.size() - p.head_off};
        if (!p.memory.empty()) iov[cnt++] = {const_cast<char*>(p.memory.data()), p.memory.size()};
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<size_t>(cnt);
        ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | (p.remaining ? MSG_MORE : 0));
        if (n < 0) {
            if (is_soft_error(errno)) return true;
            close_now();
            return false;
        }
        server_.count_bytes(0, static_cast<uint64_t>(n));
        last_activity_ms_ = server_.now_ms();
        rate_window_sent_ += static_cast<uint64_t>(n);
        size_t sent = static_cast<size_t>(n);
        const size_t h = std::min(sent, p.head.size() - p.head_off);
        p.head_off += h;
        sent -= h;
        p.memory.remove_prefix(std::min(sent, p.memory.size()));
    }
    if (!send_file(*p.file, p.file_offset, p.remaining)) return false;
    return true;
}

void Connection::on_writable() {
    if (!flush_pending()) return;
    Pending& p = *pending_;
    if (p.head_off < p.head.size() || !p.memory.empty() || p.remaining > 0) {
        refresh_deadline();
        return;
    }
    const bool close = p.close;
    pending_.reset();
    state_ = State::reading;
    if (!after_response(close)) return;
    if (state_ != State::reading) return;
    set_poll(EPOLLIN);
    // Pipelined requests that arrived while we were writing are already buffered.
    if (buf_ && (fed_ < len_ || in_body_)) {
        if (!process_input()) return;
    }
    if (state_ == State::reading) {
        release_input_if_idle();
        refresh_deadline();
    }
}

bool Connection::after_response(bool close) {
    if (!close) {
        state_ = State::reading;
        set_poll(EPOLLIN);
        return true;
    }
    if (client_closes_ && fed_ == len_) {
        // The client asked to close (HTTP/1.0, Connection: close) and has nothing more in
        // flight: a plain close ends the exchange with a FIN after the response, without the
        // half-close, the wait for the client's FIN and its read (what one-connection-per-request
        // clients pay for). Anything already received means it may send more: linger instead.
        // Unless the last read emptied the socket, one more look makes sure nothing came since.
        ssize_t n = 0;
        if (!socket_drained_)
            n = ::recv(fd_.get(), server_.scratch_buffer(), server_.scratch_size(), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EINTR)) {
            close_now();
            return false;
        }
    }
    // The lingering close reads and drops whatever the client still sends (the rest of a request
    // body, pipelined requests), so the client is not reset while it is still sending.
    begin_lingering_close();
    return true;
}

void Connection::begin_lingering_close() {
    if (state_ == State::lingering) return;
    // Half-close: the client sees a clean end of the response; whatever it still sends is read
    // and dropped so the kernel does not answer it with a reset that could destroy the
    // response before the client read it.
    // If the peer is already gone shutdown() fails; the sweep then closes the connection (it
    // must not be deleted here: callers still run on this object).
    const bool half_closed = ::shutdown(fd_.get(), SHUT_WR) == 0;
    state_ = State::lingering;
    pending_.reset();
    if (buf_) server_.buffers().release(std::move(buf_));
    if (parser_) server_.release_parser(std::move(parser_));
    len_ = fed_ = 0;
    in_body_ = false;
    deadline_ms_ = half_closed ? server_.now_ms() + kLingerMs : 0;
    set_poll(EPOLLIN);
}

void Connection::on_lingering_readable() {
    for (;;) {
        ssize_t n = ::read(fd_.get(), server_.scratch_buffer(), server_.scratch_size());
        if (n > 0) {
            lingering_bytes_ += static_cast<uint64_t>(n);
            if (lingering_bytes_ > kLingerMaxBytes) break;
            continue;
        }
        if (n < 0 && is_soft_error(errno)) return;
        break;  // EOF or error: the client has finished too.
    }
    close_now();
}

void Connection::abort_now() {
    // A plain close would leave the kernel delivering the queued rest of the response (megabytes
    // on a fast link) to a client that reads a few bytes a second, for as long as it keeps
    // reading: the attack would outlive the connection. A zero linger discards it with a reset.
    const linger reset{1, 0};
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset) != 0)
        log::debug(sys_error("setsockopt", "SO_LINGER", errno));
    close_now();
}

void Connection::close_now() {
    server_.connection_closed(this);
}

}  // namespace minid
