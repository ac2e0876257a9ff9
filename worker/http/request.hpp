// Request: the parsed head of one HTTP/1.x request. Views point into the connection's input
// buffer and are valid only until the parser is fed again (Exchange::own_request copies them).
#pragma once

#include <cstdint>
#include <string_view>

namespace minid::http {

enum class Method : uint8_t { get, head, other };

struct Header {
    std::string_view name;
    std::string_view value;
};

struct Request {
    Method method = Method::other;
    std::string_view method_name;  // as sent, e.g. "GET", "DELETE"
    std::string_view target;       // raw request-target: origin-form or absolute-form
    uint8_t version_major = 1;
    uint8_t version_minor = 1;
    bool keep_alive = true;  // what the client asked for (HTTP/1.0 needs "keep-alive")
    bool has_body = false;   // Content-Length > 0 or chunked
    // "Expect: 100-continue": the client may wait for an answer before it sends the body.
    bool expect_continue = false;

    // Headers the server acts on or logs; empty when absent.
    std::string_view host;
    std::string_view if_none_match;
    std::string_view if_modified_since;
    std::string_view range;
    std::string_view if_range;
    std::string_view user_agent;
    std::string_view referer;

    // Every header as received, for anything else (bounded by the parser's header limit).
    const Header* headers = nullptr;
    uint32_t header_count = 0;
};

}  // namespace minid::http
