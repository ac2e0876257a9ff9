// ControlConnection implementation. libuv callbacks find the connection through handle->data
// (nulled by UvHandle::close) and keep it alive with shared_from_this() while they run, so a
// connection may close itself from any callback.
#include "daemon/control_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include "common/log.hpp"

namespace minid {

namespace {
constexpr size_t kReadChunk = 4096;

template <typename H>
ControlConnection* owner(H* handle) {
    return static_cast<ControlConnection*>(handle->data);
}
}  // namespace

struct ControlConnection::WriteReq {
    uv_write_t req{};
    std::string data;
    std::weak_ptr<ControlConnection> conn;
};

ControlConnection::ControlConnection(uint64_t id, Limits limits, RequestHandler on_request,
                                     ClosedHandler on_closed)
    : id_(id),
      limits_(limits),
      on_request_(std::move(on_request)),
      on_closed_(std::move(on_closed)),
      in_(limits.max_request_bytes) {}

std::shared_ptr<ControlConnection> ControlConnection::accept(uv_stream_t* listener, uint64_t id,
                                                             Limits limits,
                                                             RequestHandler on_request,
                                                             ClosedHandler on_closed) {
    auto c = std::make_shared<ControlConnection>(id, limits, std::move(on_request),
                                                 std::move(on_closed));
    uv_loop_t* loop = listener->loop;
    uv_pipe_t* pipe = c->pipe_.make();
    if (int r = uv_pipe_init(loop, pipe, 0); r < 0) {
        log::error("control socket: uv_pipe_init failed: ", uv_strerror(r));
        return nullptr;
    }
    pipe->data = c.get();
    if (int r = uv_accept(listener, reinterpret_cast<uv_stream_t*>(pipe)); r < 0) {
        log::warn("control socket: accept failed: ", uv_strerror(r));
        return nullptr;
    }
    if (!c->start_reading(loop)) return nullptr;
    return c;
}

std::shared_ptr<ControlConnection> ControlConnection::adopt_deferred(uv_loop_t* loop, int fd,
                                                                     uint64_t id, Limits limits,
                                                                     RequestHandler on_request,
                                                                     ClosedHandler on_closed) {
    auto c = std::make_shared<ControlConnection>(id, limits, std::move(on_request),
                                                 std::move(on_closed));
    uv_pipe_t* pipe = c->pipe_.make();
    if (int r = uv_pipe_init(loop, pipe, 0); r < 0) {
        log::error("control socket: uv_pipe_init failed: ", uv_strerror(r));
        ::close(fd);
        return nullptr;
    }
    pipe->data = c.get();
    if (int r = uv_pipe_open(pipe, fd); r < 0) {
        log::warn("control socket: cannot take over a waiting client: ", uv_strerror(r));
        ::close(fd);
        return nullptr;
    }
    if (!c->start_reading(loop)) return nullptr;
    c->awaiting_reply_ = true;
    c->defer();
    return c;
}

int ControlConnection::fd() const {
    uv_os_fd_t fd = -1;
    if (!pipe_ || uv_fileno(pipe_.base(), &fd) != 0) return -1;
    return fd;
}

bool ControlConnection::start_reading(uv_loop_t* loop) {
    uv_pipe_t* pipe = pipe_.get();
    if (const int fd = this->fd(); fd >= 0) {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
            peer_pid_ = cred.pid;
            peer_uid_ = static_cast<long>(cred.uid);
        }
    }
    uv_timer_t* timer = idle_timer_.make();
    if (int r = uv_timer_init(loop, timer); r < 0) {
        log::error("control socket: uv_timer_init failed: ", uv_strerror(r));
        return false;
    }
    timer->data = this;
    restart_idle_timer();
    const int r = uv_read_start(
        reinterpret_cast<uv_stream_t*>(pipe),
        [](uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
            // One chunk per callback; the bytes are copied into the LineBuffer at once.
            static thread_local std::array<char, kReadChunk> chunk;
            *buf = uv_buf_init(chunk.data(), static_cast<unsigned>(chunk.size()));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
            if (ControlConnection* self = owner(s)) self->shared_from_this()->on_read(nread, buf);
        });
    if (r < 0) {
        log::warn("control socket: read failed: ", uv_strerror(r));
        return false;
    }
    return true;
}

void ControlConnection::restart_idle_timer() {
    if (!idle_timer_) return;
    uv_timer_start(
        idle_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (ControlConnection* self = owner(t)) self->shared_from_this()->on_idle_timer();
        },
        limits_.idle_timeout_ms, 0);
}

void ControlConnection::on_idle_timer() {
    if (closed_ || deferred_ || held_) return;
    if (writes_in_flight_ > 0 || close_when_flushed_) {
        // It does not read what we send: nothing more to be polite about.
        log::debug("control client ", id_, " does not read its answers; disconnecting");
        close();
        return;
    }
    log::debug("control client ", id_, " idle; disconnecting");
    fail_and_close(control::encode_error("no complete request for " +
                                         std::to_string(limits_.idle_timeout_ms / 1000) +
                                         " s; closing the connection"));
}

void ControlConnection::on_read(ssize_t nread, const uv_buf_t* buf) {
    if (closed_) return;
    if (nread < 0) {
        if (nread != UV_EOF) {
            log::debug("control client ", id_, ": ", uv_strerror(static_cast<int>(nread)));
            close();
            return;
        }
        eof_ = true;
        uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_.get()));
        // A last request without its newline still counts (printf '...' | nc -U).
        if (in_.buffered() > 0) in_.append("\n");
        pump();
        return;
    }
    if (nread == 0 || close_when_flushed_) return;
    in_.append(std::string_view(buf->base, static_cast<size_t>(nread)));
    if (in_.overflowed()) {
        fail_and_close(control::encode_error("request longer than " +
                                             std::to_string(limits_.max_request_bytes) +
                                             " bytes; closing the connection"));
        return;
    }
    pump();
}

void ControlConnection::pump() {
    if (closed_ || pumping_) return;
    pumping_ = true;
    auto self = shared_from_this();
    // Strictly one request at a time: the next is taken only when the previous answer is
    // written, which also spreads a burst of requests over several loop turns.
    while (!closed_ && !awaiting_reply_ && !held_ && !close_when_flushed_ &&
           writes_in_flight_ == 0) {
        auto line = in_.next_line();
        if (!line) break;
        if (line->empty()) continue;
        awaiting_reply_ = true;
        on_request_(*this, *line);
    }
    pumping_ = false;
    if (closed_ || writes_in_flight_ > 0) return;
    // After EOF, stay only for an answer still owed (a reload asked over a half-closed socket).
    if (close_when_flushed_ || (eof_ && !awaiting_reply_ && (held_ || !in_.has_line()))) close();
}

void ControlConnection::respond(std::string line) {
    if (closed_ || !awaiting_reply_) return;
    awaiting_reply_ = false;
    deferred_ = false;
    restart_idle_timer();
    write(std::move(line));
    pump();
}

void ControlConnection::defer() {
    if (closed_ || !awaiting_reply_) return;
    deferred_ = true;
    if (idle_timer_) uv_timer_stop(idle_timer_.get());
}

void ControlConnection::hold_until_close() {
    if (closed_) return;
    held_ = true;
    if (idle_timer_) uv_timer_stop(idle_timer_.get());
}

void ControlConnection::fail_and_close(std::string line) {
    if (closed_) return;
    close_when_flushed_ = true;
    awaiting_reply_ = false;
    deferred_ = false;
    if (!eof_) uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_.get()));
    // Bounds the flush: a client that does not read is cut when this fires.
    restart_idle_timer();
    write(std::move(line));
    pump();
}

void ControlConnection::write(std::string line) {
    if (closed_) return;
    auto* req = new WriteReq;
    req->data = std::move(line);
    req->conn = weak_from_this();
    req->req.data = req;
    uv_buf_t buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
    auto* stream = reinterpret_cast<uv_stream_t*>(pipe_.get());
    const int r = uv_write(&req->req, stream, &buf, 1, [](uv_write_t* w, int status) noexcept {
        std::unique_ptr<WriteReq> done(static_cast<WriteReq*>(w->data));
        if (auto c = done->conn.lock()) c->on_written(status);
    });
    if (r < 0) {
        delete req;
        log::debug("control client ", id_, ": write failed: ", uv_strerror(r));
        close();
        return;
    }
    ++writes_in_flight_;
    if (uv_stream_get_write_queue_size(stream) > limits_.max_pending_output) {
        log::warn("control client ", id_, " does not read its answers; disconnecting");
        close();
    }
}

void ControlConnection::on_written(int status) {
    if (closed_) return;
    if (writes_in_flight_ > 0) --writes_in_flight_;
    if (status < 0) {
        log::debug("control client ", id_, ": write failed: ", uv_strerror(status));
        close();
        return;
    }
    pump();
}

void ControlConnection::close() {
    if (closed_) return;
    closed_ = true;
    // Pending writes are cancelled by libuv; their callbacks find the connection closed.
    pipe_.close();
    idle_timer_.close();
    if (auto done = std::move(on_closed_)) {
        on_closed_ = nullptr;
        done(id_);
    }
}

}  // namespace minid
