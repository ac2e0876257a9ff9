// Response head serialisation.
#include "worker/http/response_head.hpp"

#include <charconv>

#include "worker/http/status_text.hpp"

namespace minid::http {

namespace {
constexpr size_t kInitialCapacity = 512;  // a typical 200 head is ~250 bytes
}

ResponseHead::ResponseHead(std::string& out, int status) : out_(out) {
    out_.clear();
    if (out_.capacity() < kInitialCapacity) out_.reserve(kInitialCapacity);
    out_.append("HTTP/1.1 ");
    append_number(static_cast<uint64_t>(status));
    out_.push_back(' ');
    out_.append(reason_phrase(status));
    out_.append("\r\n");
}

void ResponseHead::append_number(uint64_t v) {
    char buf[20];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, static_cast<size_t>(res.ptr - buf));
}

void ResponseHead::field(std::string_view name, std::string_view value) {
    out_.append(name);
    out_.append(": ");
    out_.append(value);
    out_.append("\r\n");
}

void ResponseHead::field(std::string_view name, uint64_t value) {
    out_.append(name);
    out_.append(": ");
    append_number(value);
    out_.append("\r\n");
}

void ResponseHead::entity_fields(std::string_view content_type, uint64_t length,
                                 std::string_view last_modified, std::string_view etag) {
    field("Content-Type", content_type);
    field("Content-Length", length);
    field("Last-Modified", last_modified);
    field("ETag", etag);
    field("Accept-Ranges", "bytes");
}

void ResponseHead::format_entity_fields(std::string& out, std::string_view content_type,
                                        uint64_t length, std::string_view last_modified,
                                        std::string_view etag) {
    out.clear();
    ResponseHead(out).entity_fields(content_type, length, last_modified, etag);
}

void ResponseHead::content_range(uint64_t first, uint64_t last, uint64_t size) {
    out_.append("Content-Range: bytes ");
    append_number(first);
    out_.push_back('-');
    append_number(last);
    out_.push_back('/');
    append_number(size);
    out_.append("\r\n");
}

void ResponseHead::unsatisfied_range(uint64_t size) {
    out_.append("Content-Range: bytes */");
    append_number(size);
    out_.append("\r\n");
}

void ResponseHead::finish() {
    out_.append("\r\n");
}

}  // namespace minid::http
