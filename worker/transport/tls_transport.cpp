// TlsTransport implementation: SSL_read_ex/SSL_write_ex on the socket, each outcome mapped to an
// IoResult, with the readiness a blocked operation really needs kept in the epoll registration.
#include "worker/transport/tls_transport.hpp"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/log.hpp"
#include "common/stats_segment.hpp"
#include "worker/access_log.hpp"

namespace minid {
namespace {

// Plaintext staging for writes: gathered iovecs and file reads. One per process (a worker is one
// thread); a blocked write is retried with the same bytes gathered again (moving write buffer).
char g_scratch[TlsTransport::kFullRecord];

const char* op_name(bool reading) {
    return reading ? "TLS read" : "TLS write";
}

std::string peer_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "a gone peer";
    return AccessLog::peer_text(reinterpret_cast<const sockaddr*>(&ss));
}

// This worker is the only writer of its slot: a relaxed load and store is an increment.
void bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

std::unique_ptr<TlsTransport> TlsTransport::create(UniqueFd& fd, SSL_CTX* ctx, IoPoller& poller,
                                                   IoPoller::Watcher& watcher, WorkerSlot* stats) {
    ssl_clear_errors();
    SslPtr ssl(SSL_new(ctx));
    if (!ssl) {
        log::error(ssl_error_text("SSL_new for a new TLS connection"));
        return nullptr;
    }
    if (SSL_set_fd(ssl.get(), fd.get()) != 1) {
        log::error(ssl_error_text("SSL_set_fd for a new TLS connection"));
        return nullptr;
    }
    SSL_set_accept_state(ssl.get());
    SSL* raw = ssl.get();
    std::unique_ptr<TlsTransport> t(
        new TlsTransport(std::move(fd), std::move(ssl), poller, watcher));
    SSL_set_app_data(raw, t.get());
    t->stats_ = stats;
    return t;
}

TlsTransport* TlsTransport::of(SSL* ssl) {
    return static_cast<TlsTransport*>(SSL_get_app_data(ssl));
}

TlsTransport::~TlsTransport() {
    close();
}

bool TlsTransport::handshake_done() const {
    return ssl_ && SSL_is_init_finished(ssl_.get());
}

bool TlsTransport::has_buffered_input() const {
    // Decrypted bytes of the current record, or (read-ahead) bytes of further records OpenSSL
    // took from the kernel, unless the last read found them to be an incomplete record: then
    // only the kernel's next bytes can help, and epoll announces those.
    if (!ssl_) return false;
    return SSL_pending(ssl_.get()) > 0 || (!starved_ && SSL_has_pending(ssl_.get()) == 1);
}

void TlsTransport::log_broken(const char* what, int err) {
    if (!log::enabled(log::Level::debug)) {
        ssl_clear_errors();
        return;
    }
    std::string context = std::string(what) + (handshake_done() ? "" : " (handshake)") + " with " +
                          peer_of(fd_.get());
    if (ERR_peek_error() != 0)
        log::debug(ssl_error_text(context));
    else
        log::debug(sys_error(context, err));
}

void TlsTransport::count_handshake() {
    handshake_counted_ = true;
    if (!stats_) return;
    bump(SSL_session_reused(ssl_.get()) == 1 ? stats_->tls_resumed : stats_->tls_handshakes);
}

void TlsTransport::count_unfinished_handshake() {
    if (handshake_counted_) return;
    if (handshake_done()) {
        count_handshake();
        return;
    }
    handshake_counted_ = true;
    if (!stats_) return;
    const TlsFailure kind = handshake_timed_out_ ? TlsFailure::timeout : failure_;
    bump(stats_->tls_failures[static_cast<size_t>(kind)]);
}

IoResult TlsTransport::failure(int rc, Op op) {
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_.get(), rc);
    if (!handshake_counted_) {
        count_if_handshake_done();
        if (err == SSL_ERROR_SSL) failure_ = classify_handshake_error(ERR_peek_error());
    }
    uint32_t& needs = op == Op::read ? read_needs_ : write_needs_;
    switch (err) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE: {
            if (op == Op::read && err == SSL_ERROR_WANT_READ) starved_ = true;
            const uint32_t now_needs = err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
            if (needs != now_needs) {
                needs = now_needs;
                rewatch();
            }
            return IoResult::would_block();
        }
        case SSL_ERROR_ZERO_RETURN:
            // close_notify from the peer: the end of its input, and no more writes.
            if (op == Op::read) return IoResult::eof();
            broken_ = true;
            return IoResult::failed(EPIPE);
        case SSL_ERROR_SYSCALL: {
            broken_ = true;
            read_needs_ = EPOLLIN;  // a lingering close reads the raw socket from now on
            const int e = saved_errno != 0 ? saved_errno : (op == Op::read ? 0 : EPIPE);
            if (e == 0 && ERR_peek_error() == 0) return IoResult::eof();  // a bare FIN
            if (e != ECONNRESET && e != EPIPE) log_broken(op_name(op == Op::read), e);
            ssl_clear_errors();
            return IoResult::failed(e != 0 ? e : EPROTO);
        }
        default:
            // SSL_ERROR_SSL: a protocol error (garbage, plain HTTP, an old version, a bad
            // record), already answered with an alert by OpenSSL where one applies.
            broken_ = true;
            read_needs_ = EPOLLIN;
            log_broken(op_name(op == Op::read), EPROTO);
            return IoResult::failed(EPROTO);
    }
}

IoResult TlsTransport::read(char* buf, size_t len) {
    if (!ssl_) return IoResult::failed(EPIPE);
    if (broken_) {
        // After a fatal error only a lingering close reads: raw bytes, to be dropped.
        const ssize_t n = ::recv(fd_.get(), buf, len, 0);
        if (n > 0) return IoResult::done(static_cast<size_t>(n));
        if (n == 0) return IoResult::eof();
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return IoResult::would_block();
        return IoResult::failed(errno);
    }
    size_t n = 0;
    if (SSL_read_ex(ssl_.get(), buf, len, &n) == 1) {
        if (!handshake_counted_) count_if_handshake_done();
        burst_records_ = 0;  // a new request: its response starts with small records again
        starved_ = false;
        if (read_needs_ != EPOLLIN) {
            read_needs_ = EPOLLIN;
            rewatch();
        }
        return IoResult::done(n);
    }
    return failure(0, Op::read);
}

IoResult TlsTransport::write_record(const char* data, size_t len) {
    size_t n = 0;
    if (SSL_write_ex(ssl_.get(), data, len, &n) == 1) {
        pending_ = 0;
        ++burst_records_;
        if (write_needs_ != EPOLLOUT) {
            write_needs_ = EPOLLOUT;
            rewatch();
        }
        return IoResult::done(n);
    }
    const IoResult r = failure(0, Op::write);
    // OpenSSL has encrypted this record and holds it: the retry must name the same length.
    pending_ = r.kind == IoResult::Kind::would_block ? len : 0;
    return r;
}

IoResult TlsTransport::write(const iovec* iov, int count, bool /*more*/) {
    if (!ssl_ || broken_) return IoResult::failed(EPIPE);
    // One record per call (the session loops): a head and a small body share it.
    const size_t limit = pending_ != 0 ? pending_ : record_limit();
    const char* data = nullptr;
    size_t len = 0;
    if (count == 1 || iov[0].iov_len >= limit) {
        data = static_cast<const char*>(iov[0].iov_base);
        len = std::min(iov[0].iov_len, limit);
    } else {
        for (int i = 0; i < count && len < limit; ++i) {
            const size_t take = std::min(iov[i].iov_len, limit - len);
            std::memcpy(g_scratch + len, iov[i].iov_base, take);
            len += take;
        }
        data = g_scratch;
    }
    if (len == 0) return IoResult::done(0);
    if (pending_ != 0 && len < pending_) {
        log::error("TLS write retried with fewer bytes (", len, ") than the blocked record (",
                   pending_, "); closing the connection");
        broken_ = true;
        return IoResult::failed(EPROTO);
    }
    return write_record(data, len);
}

IoResult TlsTransport::send_file(int file_fd, uint64_t offset, size_t len) {
    if (!ssl_ || broken_) return IoResult::failed(EPIPE);
    // kTLS (tls_ktls, where the kernel took the connection's keys): the kernel encrypts what
    // sendfile sends; a blocked record write must be finished through SSL_write first.
    if (pending_ == 0 && BIO_get_ktls_send(SSL_get_wbio(ssl_.get()))) {
        const ossl_ssize_t n =
            SSL_sendfile(ssl_.get(), file_fd, static_cast<off_t>(offset), len, 0);
        if (n > 0) return IoResult::done(static_cast<size_t>(n));
        if (n == 0) return IoResult::eof();  // the file shrank
        return failure(static_cast<int>(n), Op::write);
    }
    // No sendfile through TLS without kTLS: read a record's worth and encrypt it.
    const size_t want = pending_ != 0 ? pending_ : std::min(len, record_limit());
    ssize_t got = 0;
    do {
        got = ::pread(file_fd, g_scratch, want, static_cast<off_t>(offset));
    } while (got < 0 && errno == EINTR);
    if (got < 0) return IoResult::failed(errno);
    if (got == 0 || static_cast<size_t>(got) < pending_) return IoResult::eof();  // shrank
    return write_record(g_scratch, static_cast<size_t>(got));
}

bool TlsTransport::shutdown_write() {
    if (!fd_) return false;
    send_close_notify();
    return ::shutdown(fd_.get(), SHUT_WR) == 0;
}

void TlsTransport::send_close_notify() {
    // Not after a fatal error (OpenSSL forbids it), nor behind a half-sent record (the alert
    // would have to wait for it), nor on a reset.
    if (shut_ || broken_ || aborted_ || pending_ != 0 || !handshake_done()) return;
    shut_ = true;
    const int rc = SSL_shutdown(ssl_.get());
    if (rc < 0) {
        const int err = SSL_get_error(ssl_.get(), rc);
        // A full send buffer loses the alert; the FIN still ends the stream.
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
            log_broken("TLS close_notify", errno);
        ssl_clear_errors();
    }
}

void TlsTransport::abort() {
    aborted_ = true;
    if (fd_) socket_reset_on_close(fd_.get());
}

void TlsTransport::close() {
    if (!fd_) return;
    count_unfinished_handshake();
    send_close_notify();
    ssl_.reset();
    fd_.reset();
}

void TlsTransport::rewatch() {
    if (watch_.registered()) {
        if (Status st = watch(want_); !st) log::error(st.error());
    }
}

Status TlsTransport::watch(Want want) {
    want_ = want;
    uint32_t events = 0;
    switch (want) {
        case Want::nothing:
            break;
        case Want::read:
            events = read_needs_;
            break;
        case Want::write:
            events = write_needs_;
            break;
        case Want::peer_close:
            events = EPOLLRDHUP;
            break;
        case Want::read_write:
            events = read_needs_ | write_needs_;
            break;
    }
    return watch_.set(poller_, fd_.get(), events, &watcher_);
}

}  // namespace minid
