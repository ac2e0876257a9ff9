// Transport: the byte stream under an HTTP session — plain TCP today, TLS next. The session asks
// for bytes and hands over bytes; the transport owns the socket, decides which readiness a
// blocked operation waits for (TLS may need to read while writing), and says whether it holds
// input that no epoll event will announce.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "common/result.hpp"

namespace minid {

struct IoResult {
    enum class Kind : uint8_t {
        done,         // `bytes` moved (> 0)
        would_block,  // try again when the transport's watch() says so
        eof,          // the peer finished sending (reads only)
        failed,       // the connection is broken; `error` is an errno value (EPIPE, ECONNRESET...)
    };
    Kind kind;
    size_t bytes = 0;
    int error = 0;

    static IoResult done(size_t n) { return {Kind::done, n, 0}; }
    static IoResult would_block() { return {Kind::would_block, 0, 0}; }
    static IoResult eof() { return {Kind::eof, 0, 0}; }
    static IoResult failed(int err) { return {Kind::failed, 0, err}; }
};

class Transport {
  public:
    // What the session waits for; the transport turns it into kernel readiness.
    enum class Want : uint8_t {
        nothing,     // no events (a session registered for none)
        read,        // more input
        write,       // room to write
        peer_close,  // only the peer closing (a handler is busy and no input is wanted now)
        read_write,  // input and room to write at once (a tunnel relaying both ways)
    };

    // Readiness reported to the session's on_io(). Only `broken` is a verdict; `ready` means
    // "try the operation the session is waiting for".
    enum class Event : uint8_t { ready, peer_closed, broken };

    virtual ~Transport() = default;

    virtual IoResult read(char* buf, size_t len) = 0;
    // Gathers iov[0, count). `more`: further data follows at once (lets the transport coalesce,
    // e.g. MSG_MORE so a closing response and its FIN share a segment).
    virtual IoResult write(const iovec* iov, int count, bool more) = 0;
    // Sends [offset, offset + len) of the open file `file_fd`.
    virtual IoResult send_file(int file_fd, uint64_t offset, size_t len) = 0;
    // Ends the write side after everything written (FIN; TLS: close_notify first). False if the
    // peer is already gone.
    virtual bool shutdown_write() = 0;
    // Makes the coming close() discard unsent data and reset the connection.
    virtual void abort() = 0;
    // Closes the connection (the fd leaves the poller with it). Idempotent.
    virtual void close() = 0;
    // Sets what the session waits for. A failure (out of epoll memory) is logged by the caller;
    // the session's deadline then ends the connection.
    virtual Status watch(Want want) = 0;
    // Input already decrypted or buffered that no kernel event will announce.
    virtual bool has_buffered_input() const = 0;
    // Bytes handed to the kernel that the peer has not acknowledged yet (send-rate rule).
    virtual uint64_t unsent_bytes() const = 0;
};

}  // namespace minid
