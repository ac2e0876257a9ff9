// ResponseHead: field lines and number formatting on the stack.
#include "worker/http/response_head.hpp"

#include <charconv>

#include "worker/http/ascii.hpp"

namespace minid::http {

namespace {
constexpr size_t kInitialCapacity = 512;  // a typical 200 head is ~250 bytes
}

void ResponseHead::reset(int status) {
    status_ = status;
    lines_.clear();
    if (lines_.capacity() < kInitialCapacity) lines_.reserve(kInitialCapacity);
}

void ResponseHead::append_number(uint64_t v) {
    char buf[20];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    lines_.append(buf, static_cast<size_t>(res.ptr - buf));
}

void ResponseHead::field(std::string_view name, std::string_view value) {
    lines_.append(name);
    lines_.append(": ");
    lines_.append(value);
    lines_.append("\r\n");
}

void ResponseHead::field(std::string_view name, uint64_t value) {
    lines_.append(name);
    lines_.append(": ");
    append_number(value);
    lines_.append("\r\n");
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
    ResponseHead h;
    h.lines_.swap(out);
    h.lines_.clear();
    h.entity_fields(content_type, length, last_modified, etag);
    out.swap(h.lines_);
}

void ResponseHead::content_range(uint64_t first, uint64_t last, uint64_t size) {
    lines_.append("Content-Range: bytes ");
    append_number(first);
    lines_.push_back('-');
    append_number(last);
    lines_.push_back('/');
    append_number(size);
    lines_.append("\r\n");
}

void ResponseHead::unsatisfied_range(uint64_t size) {
    lines_.append("Content-Range: bytes */");
    append_number(size);
    lines_.append("\r\n");
}

std::string_view ResponseHead::find(std::string_view name) const {
    std::string_view found;
    bool seen = false;
    for_each([&](std::string_view n, std::string_view v) {
        if (!seen && ascii::iequals(n, name)) {
            found = v;
            seen = true;
        }
    });
    return found;
}

}  // namespace minid::http
