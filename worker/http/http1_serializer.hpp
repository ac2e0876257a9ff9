// The HTTP/1.1 wire form of a response head: status line, the handler's fields, the framing and
// Connection fields that belong to the connection rather than to the handler, and the blank line.
#pragma once

#include <string>

#include "worker/http/response.hpp"

namespace minid::http {

// What the connection does after this response, as the head must announce it.
enum class Http1Persistence : uint8_t {
    keep,           // HTTP/1.1 default: no Connection field
    keep_announce,  // a kept HTTP/1.0 connection: "Connection: keep-alive"
    close,          // "Connection: close"
};

// Writes the head into `out` (cleared first, capacity kept). `chunked`: the body is a stream of
// unknown length sent with Transfer-Encoding: chunked.
void write_http1_head(const Response& r, Http1Persistence persistence, bool chunked,
                      std::string& out);

}  // namespace minid::http
