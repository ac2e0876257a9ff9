// RequestParser: incremental HTTP/1.x request parser (llhttp underneath, no I/O).
// It stops after each request head and after each message end, so the caller can answer a
// request before the next pipelined one is parsed, and can move unparsed bytes between calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "worker/http/request.hpp"

namespace minid::http {

struct ParserLimits {
    uint32_t max_header_size = 8192;   // request line + header bytes of one request
    uint64_t max_body_size = 1 << 20;  // Content-Length or summed chunk sizes
};

class RequestParser {
  public:
    enum class Event {
        need_more,         // all input consumed; feed more bytes
        head,              // request() is ready; answer it, then call execute() on the rest
        body,              // `body` holds the next piece of the request body; call again
        message_complete,  // the request (with any body) ended; the next bytes start a new one
        error,             // unrecoverable: answer error_status() and close the connection
    };
    struct Outcome {
        Event event;
        size_t consumed;          // bytes of this call's input that were used up
        std::string_view body{};  // Event::body: body bytes, within the consumed input
    };

    explicit RequestParser(ParserLimits limits);
    ~RequestParser();
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    // Parses data[0, len). Views in request() point into this data, so the caller must not
    // move or overwrite bytes of a request head until execute() has returned Event::head
    // for it. Bytes after `consumed` have not been looked at and must be passed again.
    // After Event::head, call execute() again even when no bytes are left (len 0 is fine):
    // a request without a body then completes at once (message_complete, consumed 0).
    // The caller's buffer must be able to hold more than max_header_size bytes, so that an
    // oversized head is refused (414/431) before the buffer fills up.
    Outcome execute(const char* data, size_t len);

    const Request& request() const;

    // True when no byte of a next request has been seen (the connection is idle between
    // requests). False in the middle of a head or a body. Also true right after the head of
    // a request without a body (its message_complete is only pending).
    bool between_messages() const;

    // After Event::error: the status to answer (400, 413, 414, 431, 501, 505) and why, for logs.
    int error_status() const;
    std::string_view error_reason() const;

    // Forget any partial state (used when a connection object is recycled).
    void reset();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace minid::http
