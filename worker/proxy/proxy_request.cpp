// ProxyRequest implementation. Parser callbacks only record what arrived; everything that can
// answer the client (and so hand this object back to its pool) happens after feed() returns.
#include "worker/proxy/proxy_request.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "worker/http/ascii.hpp"
#include "worker/proxy/proxy_handler.hpp"
#include "worker/proxy/upstream_request_head.hpp"
#include "worker/proxy/upstream_tunnel.hpp"

namespace minid::proxy {
namespace {

// Request bodies stay in memory up to this, then move to an unlinked temp file.
constexpr size_t kMemoryBody = 64 * 1024;
// Responses likewise, with more room: a file costs an open, a write per read, a read back and a
// close (300 KiB responses through /tmp on disk: 16 pwrites each, at half nginx's rate), and
// most answers fit. A response that outgrows it frees the memory, so a slow reader of a large
// response holds a temp file and 64 KiB in flight, not the whole memory bound.
constexpr size_t kMemoryResponse = 1024 * 1024;
// One read from the upstream (and one chunk of a file-backed request body).
constexpr size_t kIoBuffer = 64 * 1024;
// A response with a Content-Length above this goes to the client while it is still being read
// (from the spool as it fills); smaller ones go out whole, head and body in one write.
constexpr uint64_t kEagerAbove = kMemoryResponse;
// A streamed response stops reading the upstream while this much waits for a slow client.
constexpr size_t kMaxStreamBuffer = 64 * 1024;
constexpr int kMaxReadsPerWakeup = 8;
// Pauses between tries at an upstream that refuses connections: 20, 40, 80, 160, 250, 250 ms...
constexpr uint64_t kFirstBackoffMs = 20;
constexpr uint64_t kMaxBackoffMs = 250;

using http::ascii::iequals;

// An app that is down fails every request: its failures are logged at most this many lines a
// second per worker, then counted and summed up in the next line.
constexpr unsigned kFailuresLoggedPerSecond = 10;

struct FailureLog {
    uint64_t window_ms = 0;
    unsigned logged = 0;
    uint64_t suppressed = 0;
};

void log_failure(uint64_t now_ms, const std::string& upstream, std::string_view why) {
    static FailureLog state;  // one worker process, one thread
    if (now_ms - state.window_ms >= 1000) {
        state.window_ms = now_ms;
        state.logged = 0;
    }
    if (state.logged >= kFailuresLoggedPerSecond) {
        ++state.suppressed;
        return;
    }
    ++state.logged;
    if (state.suppressed > 0) {
        log::warn("proxy [upstream ", upstream, "]: ", why, " (", state.suppressed,
                  " more failures not logged)");
        state.suppressed = 0;
    } else {
        log::warn("proxy [upstream ", upstream, "]: ", why);
    }
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Whether the client framed a body, even an empty one ("Content-Length: 0" goes upstream too).
bool has_framing_header(const http::Request& req) {
    for (uint32_t i = 0; i < req.header_count; ++i) {
        const std::string_view n = req.headers[i].name;
        if (iequals(n, "content-length") || iequals(n, "transfer-encoding")) return true;
    }
    return false;
}

// An upgrade the proxy can tunnel: an HTTP/1.1 GET without a body that names "upgrade" in
// Connection and carries Upgrade. Anything else asking for one is an ordinary request, its
// Upgrade dropped with the other hop-by-hop headers.
bool wants_upgrade(const http::Request& req) {
    if (req.method != http::Method::get || req.has_body || req.version_minor != 1) return false;
    ConnectionFields connection;
    bool upgrade = false;
    for (uint32_t i = 0; i < req.header_count; ++i) {
        const http::Header& h = req.headers[i];
        if (iequals(h.name, "connection")) {
            connection.add(h.value);
        } else if (iequals(h.name, "upgrade") && !http::ascii::trim_ows(h.value).empty()) {
            upgrade = true;
        }
    }
    return upgrade && connection.lists("upgrade");
}

}  // namespace

ProxyRequest::ProxyRequest(ProxyHandler& handler, UpstreamPool& pool, uv_loop_t* loop)
    : handler_(handler),
      pool_(pool),
      loop_(loop),
      request_body_(kMemoryBody, handler.temp_dir()),
      io_buf_(new char[kIoBuffer]) {
    uv_timer_init(loop, timer_.make());
    timer_.get()->data = this;
}

ProxyRequest::~ProxyRequest() {
    if (conn_) pool_.give_back(std::move(conn_), false);
    if (state_ == State::waiting_slot) pool_.forget(*this);
}

void ProxyRequest::start(http::Exchange& ex, bool stream) {
    ex_ = &ex;
    force_stream_ = stream;
    head_request_ = ex.request().method == http::Method::head;
    upgrade_ = wants_upgrade(ex.request());
    state_ = State::reading_body;
    ex.set_producer(this);
    ex.set_body_reader(this);
}

void ProxyRequest::on_request_body(http::Exchange&, std::string_view data, bool last) noexcept {
    if (state_ != State::reading_body) return;
    if (!data.empty() && sink_error_.empty()) {
        if (Status st = request_body_.append(data); !st) sink_error_ = st.error();
    }
    if (!last) return;
    if (!sink_error_.empty()) {
        // The temp file could not take the body (disk full): the app never sees half of it.
        log::error("proxy: request body: ", sink_error_);
        fail(503, "the request body could not be buffered");
        return;
    }
    first_try_ms_ = started_ms_ = now();
    attempt();
}

bool ProxyRequest::idempotent_without_body() const {
    const std::string_view m = ex_->request().method_name;
    const bool idempotent =
        m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
    return idempotent && request_body_.size() == 0;
}

void ProxyRequest::attempt() {
    if (tries_ > 0) ++pool_.counters.retries;
    ++tries_;
    UpstreamPool::Lease lease;
    switch (pool_.take(*this, fresh_next_, lease)) {
        case UpstreamPool::Take::full:
            fail(503, "max_connections reached and the queue is full");
            return;
        case UpstreamPool::Take::queued:
            state_ = State::waiting_slot;
            arm_timer(static_cast<uint64_t>(pool_.settings().connect_timeout.count()));
            return;
        case UpstreamPool::Take::ok:
            break;
    }
    conn_ = std::move(lease.conn);
    reused_ = lease.reused;
    conn_->set_user(this);
    switch (lease.start) {
        case UpstreamConnection::Start::connected:
            connected();
            return;
        case UpstreamConnection::Start::in_progress:
            // On loopback the handshake is usually over by now: the request goes at once, and
            // only a send that would block waits for writability (an epoll_ctl, a wakeup and
            // a getsockopt less per new connection).
            unconfirmed_ = true;
            connected();
            return;
        case UpstreamConnection::Start::failed:
            connect_failed(conn_->error(), Failure::refused);
            return;
    }
}

void ProxyRequest::wait_for_connect() {
    unconfirmed_ = false;
    state_ = State::connecting;
    if (Status st = conn_->watch(EPOLLOUT); !st) {
        log::error(st.error());
        connect_failed(ENOMEM, Failure::refused);
        return;
    }
    arm_timer(static_cast<uint64_t>(pool_.settings().connect_timeout.count()));
}

void ProxyRequest::on_slot_free() noexcept {
    if (state_ != State::waiting_slot) return;
    uv_timer_stop(timer_.get());
    --tries_;  // waiting for a slot was not a try
    attempt();
}

void ProxyRequest::connect_failed(int error, Failure kind) {
    const std::string server = conn_ ? pool_.server_text(conn_->server()) : "?";
    log::debug("proxy: connect to ", server, ": ", std::strerror(error));
    if (conn_) {
        conn_->set_user(nullptr);
        pool_.connect_failed(std::move(conn_));
    }
    const uint64_t window = static_cast<uint64_t>(pool_.settings().retry_window.count());
    const uint64_t backoff =
        std::min(kMaxBackoffMs, kFirstBackoffMs << std::min<unsigned>(tries_ - 1, 4));
    if (now() - first_try_ms_ + backoff < window) {
        state_ = State::backing_off;
        arm_timer(backoff);
        return;
    }
    if (kind == Failure::timeout) {
        ++pool_.counters.timeouts;
        fail(504, "connect to " + server + " timed out");
    } else {
        fail(502, "connect to " + server + ": " + std::strerror(error));
    }
}

void ProxyRequest::connected() {
    state_ = State::sending;
    const http::Request& req = ex_->request();
    ForwardingContext ctx;
    ctx.peer = ex_->peer();
    ctx.tls = ex_->secure;
    ctx.peer_trusted = handler_.trusted_proxies().contains(ctx.peer);
    ctx.upgrade = upgrade_;
    std::optional<uint64_t> length;
    if (req.has_body || request_body_.size() > 0 || has_framing_header(req))
        length = request_body_.size();
    head_.clear();
    build_upstream_request_head(req, ctx, length, head_);
    sent_ = 0;
    file_chunk_off_ = file_chunk_len_ = 0;
    parser_.begin(this, head_request_, upgrade_);
    head_seen_ = complete_ = stream_ = early_answer_ = capped_ = false;
    sink_error_.clear();
    response_body_.reset();
    stream_in_.clear();
    send_more();
}

void ProxyRequest::send_more() {
    const uint64_t total = head_.size() + request_body_.size();
    while (sent_ < total) {
        iovec iov[2];
        int n = 0;
        if (sent_ < head_.size()) iov[n++] = {head_.data() + sent_, head_.size() - sent_};
        const uint64_t body_off = sent_ > head_.size() ? sent_ - head_.size() : 0;
        if (body_off < request_body_.size()) {
            if (!request_body_.in_file()) {
                const std::string_view mem = request_body_.memory();
                iov[n++] = {const_cast<char*>(mem.data() + body_off), mem.size() - body_off};
            } else {
                if (body_off < file_chunk_off_ || body_off >= file_chunk_off_ + file_chunk_len_) {
                    auto got = request_body_.read_at(body_off, io_buf_.get(), kIoBuffer);
                    if (!got || *got == 0) {
                        log::error("proxy: request body: ",
                                   got ? std::string("temp file shrank") : got.error());
                        fail(503, "the request body could not be read back");
                        return;
                    }
                    file_chunk_off_ = body_off;
                    file_chunk_len_ = *got;
                }
                const size_t skip = static_cast<size_t>(body_off - file_chunk_off_);
                iov[n++] = {io_buf_.get() + skip, file_chunk_len_ - skip};
            }
        }
        const IoResult w = conn_->write(iov, n);
        if (unconfirmed_) {
            // The first send on a connect still in progress: it blocks while the handshake
            // runs, and fails as the connect did (ECONNREFUSED): nothing was sent either way.
            if (w.kind == IoResult::Kind::would_block) {
                wait_for_connect();
                return;
            }
            unconfirmed_ = false;
            if (w.kind != IoResult::Kind::done) {
                connect_failed(w.error, Failure::refused);
                return;
            }
        }
        if (w.kind == IoResult::Kind::would_block) {
            // Readability too: an app may answer (413, 401...) before it reads the whole body.
            if (Status st = conn_->watch(EPOLLOUT | EPOLLIN | EPOLLRDHUP); !st)
                log::error(st.error());
            arm_timer(static_cast<uint64_t>(pool_.settings().send_timeout.count()));
            return;
        }
        if (w.kind != IoResult::Kind::done) {
            send_failed(w.error);
            return;
        }
        sent_ += w.bytes;
    }
    state_ = State::receiving;
    if (Status st = conn_->watch(EPOLLIN | EPOLLRDHUP); !st) log::error(st.error());
    arm_timer(static_cast<uint64_t>(pool_.settings().read_timeout.count()));
}

void ProxyRequest::answered_early(const IoResult& first) {
    // The rest of the body is not sent, and the connection (its request cut short) is never
    // reused; the answer is relayed as any other.
    early_answer_ = true;
    state_ = State::receiving;
    if (Status st = conn_->watch(EPOLLIN | EPOLLRDHUP); !st) log::error(st.error());
    if (handle_read(first)) read_more();
}

void ProxyRequest::send_failed(int error) {
    // EPIPE or ECONNRESET after an app answered and closed without reading the whole body: the
    // answer waits in the receive queue.
    const IoResult r = conn_->read(io_buf_.get(), kIoBuffer);
    if (r.kind == IoResult::Kind::done) {
        answered_early(r);
        return;
    }
    lost_before_response("send", error);
}

void ProxyRequest::readable_while_sending() {
    const IoResult r = conn_->read(io_buf_.get(), kIoBuffer);
    switch (r.kind) {
        case IoResult::Kind::would_block:
            send_more();
            return;
        case IoResult::Kind::done:
            answered_early(r);
            return;
        default:
            // Closed (or broken) without a response byte: the keep-alive race or an app that
            // gave up on the request; the same as a send that fails.
            lost_before_response("read", r.kind == IoResult::Kind::eof ? 0 : r.error);
            return;
    }
}

void ProxyRequest::lost_before_response(const char* what, int error) {
    const size_t conn_server = conn_->server();
    const std::string server = pool_.server_text(conn_server);
    const bool was_reused = reused_;
    drop_connection(false);
    // Nothing reached the app, or the request may be repeated: once, on a new connection. A unix
    // socket that resets before any response byte was closed with our bytes still unread in
    // its queue: a connection the app never accepted (it stopped while the request sat in its
    // listen backlog: an app restart) or one it left unread. The app did not read the whole
    // request, so for a buffered request it counts as not sent, whatever its method.
    const bool unread_by_app =
        error == ECONNRESET && pool_.settings().servers.size() > conn_server &&
        pool_.settings().servers[conn_server].kind == ListenAddress::Kind::unix_path;
    const bool nothing_sent = sent_ == 0 || unread_by_app;
    if (nothing_sent || (idempotent_without_body() && !retried_sent_)) {
        if (!nothing_sent) retried_sent_ = true;
        fresh_next_ = true;
        if (was_reused) {
            // A pooled connection the app had closed (the keep-alive race): try again at once.
            attempt();
            return;
        }
        const uint64_t window = static_cast<uint64_t>(pool_.settings().retry_window.count());
        if (now() - first_try_ms_ < window) {
            state_ = State::backing_off;
            arm_timer(kFirstBackoffMs);
            return;
        }
    }
    ++pool_.counters.bad_responses;
    fail(502, std::string(what) + " to " + server + ": " +
                  (error != 0 ? std::strerror(error) : "connection closed before a response"));
}

void ProxyRequest::on_upstream_io(UpstreamConnection& c, uint32_t events) noexcept {
    switch (state_) {
        case State::connecting:
            if (const int err = c.finish_connect(); err != 0) {
                uv_timer_stop(timer_.get());
                connect_failed(err, Failure::refused);
            } else {
                connected();
            }
            return;
        case State::sending:
            if (events & EPOLLERR) {
                send_failed(c.finish_connect());
                return;
            }
            if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
                readable_while_sending();
                return;
            }
            send_more();
            return;
        case State::receiving:
        case State::streaming:
            read_more();
            return;
        default:
            return;
    }
}

void ProxyRequest::read_more() {
    for (int i = 0; i < kMaxReadsPerWakeup && conn_; ++i) {
        if (state_ != State::receiving && state_ != State::streaming) return;
        // A backlog for a slow client: pump() stopped watching; reading resumes with proceed().
        if ((stream_ || capped_) && stream_in_.size() >= kMaxStreamBuffer) return;
        const IoResult r = conn_->read(io_buf_.get(), kIoBuffer);
        if (r.kind == IoResult::Kind::would_block) return;
        if (!handle_read(r)) return;
    }
}

bool ProxyRequest::handle_read(const IoResult& r) {
    if (r.kind == IoResult::Kind::done) {
        arm_timer(static_cast<uint64_t>(pool_.settings().read_timeout.count()));
        if (Status st = parser_.feed({io_buf_.get(), r.bytes}); !st) {
            ++pool_.counters.bad_responses;
            fail(502,
                 "bad response from " + pool_.server_text(conn_->server()) + ": " + st.error());
            return false;
        }
        after_feed();
        return true;
    }
    if (!parser_.started()) {
        lost_before_response("read", r.kind == IoResult::Kind::eof ? 0 : r.error);
        return false;
    }
    const std::string server = pool_.server_text(conn_->server());
    if (r.kind == IoResult::Kind::eof) {
        if (Status st = parser_.finish(); !st) {
            ++pool_.counters.bad_responses;
            fail(502, "bad response from " + server + ": " + st.error());
            return false;
        }
        after_feed();
        return false;
    }
    ++pool_.counters.bad_responses;
    fail(502, "reading from " + server + ": " + std::strerror(r.error));
    return false;
}

void ProxyRequest::after_feed() {
    if (!sink_error_.empty()) {
        log::error("proxy: response body: ", sink_error_);
        fail(502, "the response body could not be buffered");
        return;
    }
    if (!head_seen_) return;
    if (capped_ && !stream_ && !eager_) {
        // A response without a length outgrew max_temp_file_size before its end: the client
        // gets it from now on, the spool first, then the rest as the client takes it.
        eager_ = true;
        ex_->response().body_length = http::Response::kUnknownLength;
    }
    if (stream_ || eager_) {
        if (complete_ && conn_) {
            uv_timer_stop(timer_.get());
            drop_connection(parser_.reusable() && !early_answer_);
        }
        if (state_ == State::receiving) {
            begin_streaming();
            return;
        }
        pump();
        return;
    }
    if (complete_) finish_buffered();
}

void ProxyRequest::on_informational(const UpstreamResponseHead&) {
    // 100 Continue was minid's to send; 103 Early Hints are not passed on.
}

void ProxyRequest::on_head(const UpstreamResponseHead& head) {
    head_seen_ = true;
    upgraded_ = head.upgrade;
    ++pool_.counters.requests;
    ex_->upstream_status = head.status;
    http::Response& r = ex_->response();
    r.reset(head.status);
    const ResponseHeaderFilter filter(head);
    bool stream = force_stream_;
    for (const auto& [name, value] : head.headers) {
        if (iequals(name, "x-accel-buffering")) {
            // nginx's switch, and like nginx minid does not pass it on.
            if (iequals(http::ascii::trim_ows(value), "no")) stream = true;
            continue;
        }
        if (iequals(name, "content-type") &&
            starts_with_ci(http::ascii::trim_ows(value), "text/event-stream"))
            stream = true;
        if (filter.keep(name)) r.head.field(name, value);
    }
    using Framing = UpstreamResponseHead::Framing;
    stream_ = stream && head.framing != Framing::none;
    eager_ =
        !stream_ && head.framing == Framing::content_length && head.content_length > kEagerAbove;
    handed_ = 0;
    if (head.framing == Framing::none) {
        // HEAD, 204, 304: no body; a HEAD answer keeps the length of what a GET would get.
        if (head_request_ && head.has_content_length && head.status >= 200 && head.status != 204)
            r.head.field("Content-Length", head.content_length);
        r.body_length = 0;
    } else if (stream_ || eager_) {
        r.body_length = head.framing == Framing::content_length ? head.content_length
                                                                : http::Response::kUnknownLength;
        if (head.framing == Framing::content_length)
            r.head.field("Content-Length", head.content_length);
    }
}

void ProxyRequest::on_body(std::string_view data) {
    if (stream_) {
        stream_in_.append(data);
        return;
    }
    if (!sink_error_.empty()) return;
    if (capped_) {
        stream_in_.append(data);
        return;
    }
    if (!response_body_)
        response_body_ = std::make_shared<BodySpool>(kMemoryResponse, handler_.temp_dir());
    // The temp file (it holds the whole spool once there is one) stays within
    // max_temp_file_size; below the memory bound no file is made at all.
    const uint64_t limit = std::max<uint64_t>(kMemoryResponse, pool_.settings().max_temp_file_size);
    const uint64_t room = limit - std::min(limit, response_body_->size());
    if (data.size() > room) {
        capped_ = true;
        stream_in_.append(data.substr(static_cast<size_t>(room)));
        data = data.substr(0, static_cast<size_t>(room));
    }
    if (data.empty()) return;
    if (Status st = response_body_->append(data); !st) sink_error_ = st.error();
}

void ProxyRequest::on_complete() {
    complete_ = true;
}

void ProxyRequest::finish_upgrade() {
    uv_timer_stop(timer_.get());
    // The connection now carries another protocol: it becomes the session's tunnel peer and
    // never returns to the pool for reuse.
    conn_->set_user(nullptr);
    auto tunnel = std::make_unique<UpstreamTunnel>(pool_, std::move(conn_));
    tunnel->leftover = parser_.take_upgrade_leftover();
    tunnel->idle_timeout_ms = static_cast<uint64_t>(pool_.settings().read_timeout.count());
    http::Exchange& ex = *ex_;
    ex.upstream_ms = static_cast<uint32_t>(now() - started_ms_);
    ex.response().body_length = 0;
    ex.tunnel = std::move(tunnel);
    release();
    ex.respond();
}

void ProxyRequest::finish_buffered() {
    if (upgraded_) {
        finish_upgrade();
        return;
    }
    uv_timer_stop(timer_.get());
    // The app's connection is free again before the client has read a byte.
    drop_connection(parser_.reusable() && !early_answer_);
    http::Response& r = ex_->response();
    const uint64_t size = response_body_ ? response_body_->size() : 0;
    const int status = r.status();
    const bool bodyless = head_request_ || status == 204 || status == 304 || status < 200;
    if (!bodyless) {
        r.head.field("Content-Length", size);
        r.body_length = size;
        if (size > 0 && response_body_->in_file()) {
            auto file = std::make_shared<http::OpenFile>();
            file->fd = UniqueFd(::fcntl(response_body_->fd(), F_DUPFD_CLOEXEC, 0));
            file->size = size;
            if (!file->fd) {
                log::error(sys_error("dup", "response temp file", errno));
                fail(502, "the response body could not be sent");
                return;
            }
            r.body_kind = http::Response::BodyKind::file;
            r.file = std::move(file);
            r.file_offset = 0;
        } else if (size > 0) {
            r.body_kind = http::Response::BodyKind::memory;
            r.memory = response_body_->memory();
            r.memory_owner = response_body_;
        }
    }
    http::Exchange& ex = *ex_;
    ex.upstream_ms = static_cast<uint32_t>(now() - started_ms_);
    release();
    ex.respond();
}

void ProxyRequest::begin_streaming() {
    state_ = State::streaming;
    ex_->upstream_ms = static_cast<uint32_t>(now() - started_ms_);
    http::Response& r = ex_->response();
    r.body_kind = http::Response::BodyKind::stream;
    // The session asks for more (proceed) once the head is out.
    awaiting_client_ = true;
    ex_->respond();
}

void ProxyRequest::proceed(http::Exchange&) noexcept {
    if (state_ != State::streaming) return;
    awaiting_client_ = false;
    pump();
}

void ProxyRequest::pump() {
    if (pumping_) {
        pump_again_ = true;
        return;
    }
    pumping_ = true;
    do {
        pump_again_ = false;
        if (awaiting_client_) break;
        const uint64_t spooled = response_body_ ? response_body_->size() : 0;
        if (eager_ && handed_ < spooled) {
            // A copy: the spool's memory may move as it grows, and the session needs the
            // bytes until proceed().
            const size_t n = static_cast<size_t>(std::min<uint64_t>(kIoBuffer, spooled - handed_));
            stream_out_.resize(n);
            if (!response_body_->in_file()) {
                std::memcpy(stream_out_.data(), response_body_->memory().data() + handed_, n);
            } else {
                auto got = response_body_->read_at(handed_, stream_out_.data(), n);
                if (!got || *got == 0) {
                    pumping_ = false;
                    fail(502, "the buffered response could not be read back: " +
                                  (got ? std::string("temp file shrank") : got.error()));
                    return;
                }
                stream_out_.resize(*got);
            }
            handed_ += stream_out_.size();
            awaiting_client_ = true;
            ex_->write(stream_out_, false);
            if (state_ != State::streaming) return;
            continue;
        }
        if (!stream_in_.empty()) {
            stream_out_.swap(stream_in_);
            stream_in_.clear();
            awaiting_client_ = true;
            ex_->write(stream_out_, false);          // may call proceed() before it returns
            if (state_ != State::streaming) return;  // cancelled meanwhile
            continue;
        }
        if (complete_ && !conn_ && (!eager_ || handed_ == spooled)) {
            // Everything the upstream sent went to the client: the last (empty) piece. Written
            // after release, so no buffer of ours is still in use by the session.
            http::Exchange& ex = *ex_;
            release();
            ex.write({}, true);
            return;
        }
    } while (pump_again_);
    pumping_ = false;
    if (conn_) {
        // Reading stops while a slow client has a backlog; read_timeout counts only while
        // minid is reading.
        // (A buffered response is always read: that is what frees the app.)
        const bool read = (eager_ && !capped_) || stream_in_.size() < kMaxStreamBuffer;
        if (Status st = conn_->watch(read ? EPOLLIN | EPOLLRDHUP : 0); !st) log::error(st.error());
        if (!read)
            uv_timer_stop(timer_.get());
        else if (!uv_is_active(timer_.base()))
            arm_timer(static_cast<uint64_t>(pool_.settings().read_timeout.count()));
    }
}

void ProxyRequest::cancel(http::Exchange&) noexcept {
    // The client left (or the worker stops): a request half sent or a response half read leaves
    // the connection in an unknown state, so it is closed.
    ex_ = nullptr;
    release();
}

void ProxyRequest::fail(int status, std::string_view why) {
    if (status >= 500) log_failure(now(), pool_.settings().name, why);
    uv_timer_stop(timer_.get());
    if (conn_) drop_connection(false);
    if (state_ == State::waiting_slot) pool_.forget(*this);
    http::Exchange& ex = *ex_;
    if (state_ == State::streaming) {
        release();
        ex.abort();
        return;
    }
    proxy_error_response(status, ex.now(), ex.response());
    release();
    ex.respond();
}

void ProxyRequest::drop_connection(bool reusable) {
    conn_->set_user(nullptr);
    if (reusable) ++conn_->requests;
    pool_.give_back(std::move(conn_), reusable);
}

void ProxyRequest::arm_timer(uint64_t ms) {
    uv_timer_start(
        timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* r = static_cast<ProxyRequest*>(t->data)) r->on_timer();
        },
        ms, 0);
}

void ProxyRequest::on_timer() {
    switch (state_) {
        case State::waiting_slot:
            pool_.forget(*this);
            ++pool_.counters.queue_full;
            fail(503, "no connection became free within connect_timeout");
            return;
        case State::connecting:
            connect_failed(ETIMEDOUT, Failure::timeout);
            return;
        case State::backing_off:
            attempt();
            return;
        case State::sending:
            if (!conn_) return;
            ++pool_.counters.timeouts;
            fail(504, "send_timeout sending to " + pool_.server_text(conn_->server()));
            return;
        case State::receiving:
        case State::streaming:
            if (!conn_) return;
            ++pool_.counters.timeouts;
            fail(504, "read_timeout waiting for " + pool_.server_text(conn_->server()));
            return;
        case State::idle:
        case State::reading_body:
            return;
    }
}

void ProxyRequest::release() {
    uv_timer_stop(timer_.get());
    if (conn_) drop_connection(false);
    if (state_ == State::waiting_slot) pool_.forget(*this);
    state_ = State::idle;
    if (ex_) {
        // The exchange may live on (its response being sent) and must not call us again.
        ex_->set_producer(nullptr);
        ex_->set_body_reader(nullptr);
        ex_ = nullptr;
    }
    request_body_.clear();
    response_body_.reset();
    stream_in_.clear();
    stream_out_.clear();
    if (stream_out_.capacity() > kMaxStreamBuffer) std::string().swap(stream_out_);
    if (stream_in_.capacity() > kMaxStreamBuffer) std::string().swap(stream_in_);
    awaiting_client_ = pumping_ = pump_again_ = false;
    head_seen_ = complete_ = stream_ = eager_ = early_answer_ = capped_ = false;
    handed_ = 0;
    reused_ = fresh_next_ = retried_sent_ = unconfirmed_ = false;
    upgrade_ = upgraded_ = false;
    tries_ = 0;
    sink_error_.clear();
    handler_.release(this);
}

}  // namespace minid::proxy
