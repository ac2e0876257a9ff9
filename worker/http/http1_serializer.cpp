// HTTP/1.1 head serialization: one pass of appends into a reused string.
#include "worker/http/http1_serializer.hpp"

#include <charconv>

#include "worker/http/status_text.hpp"

namespace minid::http {

void write_http1_head(const Response& r, Http1Persistence persistence, bool chunked,
                      std::string& out) {
    const std::string_view lines = r.head.lines();
    out.clear();
    if (out.capacity() < lines.size() + 128) out.reserve(lines.size() + 128);
    out.append("HTTP/1.1 ");
    char num[12];
    const auto res = std::to_chars(num, num + sizeof num, r.status());
    out.append(num, static_cast<size_t>(res.ptr - num));
    out.push_back(' ');
    out.append(reason_phrase(r.status()));
    out.append("\r\n");
    out.append(lines);
    if (chunked) out.append("Transfer-Encoding: chunked\r\n");
    switch (persistence) {
        case Http1Persistence::keep:
            break;
        case Http1Persistence::keep_announce:
            out.append("Connection: keep-alive\r\n");
            break;
        case Http1Persistence::close:
            out.append("Connection: close\r\n");
            break;
    }
    out.append("\r\n");
}

}  // namespace minid::http
