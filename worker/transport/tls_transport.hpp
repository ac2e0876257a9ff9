// TlsTransport: TLS over a TCP socket, with OpenSSL reading and writing the socket itself. The
// handshake runs inside the session's reads (a new connection waits for input anyway), a read
// that needs to write (or a write that needs to read) watches the other readiness, what OpenSSL
// already took from the kernel (read-ahead) is announced by has_buffered_input(), and the
// connection ends with close_notify before the FIN.
#pragma once

#include <sys/epoll.h>

#include <algorithm>

#include "common/unique_fd.hpp"
#include "worker/io_poller.hpp"
#include "worker/transport/socket_watch.hpp"
#include "worker/transport/tls_errors.hpp"
#include "worker/transport/transport.hpp"

namespace minid {

struct WorkerSlot;

class TlsTransport final : public Transport {
  public:
    // Payload of the records sent first in a burst: one record fits one TCP segment, so the
    // client can decrypt the first bytes of a response without waiting for 16 KiB.
    static constexpr size_t kSmallRecord = 1400;
    static constexpr size_t kFullRecord = 16 * 1024;
    // After each request the records grow by kSmallRecord each (1400, 2800, ... as Go's do),
    // up to kFullRecord from the 12th on: the first bytes go out at once, and a 64 KiB body
    // takes 9 records instead of 47.

    // A server-side TLS connection on `fd` with `ctx`'s settings (SNI may switch the context);
    // null (logged) if OpenSSL cannot allocate it; `fd` is taken only on success. `stats`: the
    // worker's slot, where the handshake is counted once (done, resumed, or failed by kind).
    static std::unique_ptr<TlsTransport> create(UniqueFd& fd, SSL_CTX* ctx, IoPoller& poller,
                                                IoPoller::Watcher& watcher,
                                                WorkerSlot* stats = nullptr);
    ~TlsTransport() override;

    IoResult read(char* buf, size_t len) override;
    IoResult write(const iovec* iov, int count, bool more) override;
    IoResult send_file(int file_fd, uint64_t offset, size_t len) override;
    bool shutdown_write() override;
    void abort() override;
    void close() override;
    Status watch(Want want) override;
    bool has_buffered_input() const override;
    uint64_t unsent_bytes() const override { return socket_unsent_bytes(fd_.get()); }

    int fd() const { return fd_.get(); }
    // The epoll events registered now (what a blocked operation waits for).
    uint32_t watched_events() const { return watch_.events(); }
    SSL* ssl() const { return ssl_.get(); }
    bool handshake_done() const;
    // The site SNI chose (set by the server's servername callback), or -1: none named, or no
    // SNI. The session compares it with the Host's site (421).
    int sni_site() const { return sni_site_; }
    void set_sni_site(int site) { sni_site_ = site; }
    // The session gave up on an unfinished handshake (header_timeout): counted as a timeout.
    void note_handshake_timeout() { handshake_timed_out_ = true; }
    // The TlsTransport of an SSL made by create() (for OpenSSL callbacks).
    static TlsTransport* of(SSL* ssl);

  private:
    enum class Op : uint8_t { read, write };
    TlsTransport(UniqueFd fd, SslPtr ssl, IoPoller& poller, IoPoller::Watcher& watcher)
        : fd_(std::move(fd)), ssl_(std::move(ssl)), poller_(poller), watcher_(watcher) {}
    // Maps a failed SSL_read_ex/SSL_write_ex to an IoResult, noting which readiness a blocked
    // operation needs and logging OpenSSL's reason for a broken connection.
    IoResult failure(int rc, Op op);
    // Writes `len` bytes of `data` as (at most) one record; remembers a blocked length.
    IoResult write_record(const char* data, size_t len);
    size_t record_limit() const {
        return std::min(kFullRecord, kSmallRecord * (burst_records_ + 1));
    }
    // Re-registers when a blocked operation changed the readiness it needs.
    void rewatch();
    void log_broken(const char* what, int err);
    // close_notify, once, where allowed; best effort (a full send buffer loses it).
    void send_close_notify();
    // Counts a handshake that has just completed (full or resumed), once.
    void count_if_handshake_done() {
        if (!handshake_counted_ && handshake_done()) count_handshake();
    }
    void count_handshake();
    // At close: a handshake not counted yet, done or (counted by why) not.
    void count_unfinished_handshake();

    UniqueFd fd_;
    SslPtr ssl_;
    IoPoller& poller_;
    IoPoller::Watcher& watcher_;
    SocketWatch watch_;
    size_t burst_records_ = 0;  // records written since the last request came in
    size_t pending_ = 0;        // length of a blocked SSL_write, to be retried with the same
    int sni_site_ = -1;
    Want want_ = Want::nothing;
    // What a read or a write waits for: normally its own direction, the other one while
    // OpenSSL needs it (a handshake or key update reading during a write, or flushing during a
    // read).
    uint32_t read_needs_ = EPOLLIN;
    uint32_t write_needs_ = EPOLLOUT;
    bool broken_ = false;  // a fatal error: no close_notify may follow
    bool aborted_ = false;
    bool shut_ = false;  // close_notify sent
    // The last read wanted more bytes from the kernel: what OpenSSL holds is an incomplete
    // record, so has_buffered_input() must not send the session back to it (it would spin).
    bool starved_ = false;
    WorkerSlot* stats_ = nullptr;
    bool handshake_counted_ = false;
    bool handshake_timed_out_ = false;
    TlsFailure failure_ = TlsFailure::closed;  // why the handshake broke, until it completes
};

}  // namespace minid
