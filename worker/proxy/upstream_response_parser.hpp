// UpstreamResponseParser: reads one response from an upstream (llhttp in response mode for the
// head, minid's own strict framing for the body) and decides whether the connection may be
// reused. No I/O: bytes go in through feed(), the head and body pieces come out through a Sink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace minid::proxy {

struct UpstreamResponseHead {
    int status = 0;
    uint8_t version_minor = 1;
    std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
    // How the body is delimited. `none` also for HEAD, 1xx, 204 and 304 responses (whatever
    // Content-Length says); `until_close` when neither length nor chunked frames it.
    enum class Framing : uint8_t { none, content_length, chunked, until_close };
    Framing framing = Framing::none;
    // The Content-Length field's value when there is one, also when it frames no body (a HEAD
    // or 304 response: the length of the representation, which the proxy may pass on).
    uint64_t content_length = 0;
    bool has_content_length = false;
    bool keep_alive = true;  // the upstream allows reuse (HTTP/1.1 without close; 1.0 keep-alive)
    bool upgrade = false;    // 101 to an Upgrade request
};

class UpstreamResponseParser {
  public:
    // Receives one response. The parser must outlive each call (a sink may not destroy it or
    // call begin()/feed() from inside a callback); views die when the callback returns.
    // Implementations are `final` (the destructor is protected, not virtual).
    class Sink {
      public:
        // A 1xx response other than 101 (e.g. 103); the parser then waits for the final one.
        virtual void on_informational(const UpstreamResponseHead& head) = 0;
        virtual void on_head(const UpstreamResponseHead& head) = 0;  // the final head
        virtual void on_body(std::string_view data) = 0;             // de-chunked body bytes
        virtual void on_complete() = 0;                              // end of the message

      protected:
        ~Sink() = default;
    };

    explicit UpstreamResponseParser(size_t max_head_bytes = 16 * 1024);
    ~UpstreamResponseParser();
    UpstreamResponseParser(const UpstreamResponseParser&) = delete;
    UpstreamResponseParser& operator=(const UpstreamResponseParser&) = delete;
    // Movable (e.g. with a pooled connection); not while a feed() is running.
    UpstreamResponseParser(UpstreamResponseParser&&) noexcept;
    UpstreamResponseParser& operator=(UpstreamResponseParser&&) noexcept;

    // Before each response: a HEAD request gets no body back; only a request that asked for
    // an upgrade may be answered with 101. Buffers are kept for the next response.
    void begin(Sink* sink, bool head_request, bool upgrade_requested);

    // Feeds bytes from the upstream. An error ("upstream response head over 16384 bytes")
    // means: answer 502 and discard the connection; later calls return the same error. Bytes
    // after the end of the message are not a next response: they are dropped and make the
    // connection not reusable (after a 101 they are kept for take_upgrade_leftover()).
    Status feed(std::string_view data);

    // The upstream closed. OK when the message is complete or close-delimited (then
    // on_complete is called); an error otherwise.
    Status finish();

    bool complete() const;
    // A byte of a response (1xx included) has arrived: a request must not be retried then.
    bool started() const;
    // Complete, keep-alive, framed by length/chunked/none, no stray bytes after the message
    // (also none in the same feed()), and not an upgrade.
    bool reusable() const;
    // After a 101: the bytes that followed its head (the tunnel's first bytes from upstream).
    std::string take_upgrade_leftover();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace minid::proxy
