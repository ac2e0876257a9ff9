// ResponseHead: appends a status line and header fields to Response::head without allocating
// once the string's capacity has grown (numbers are formatted on the stack).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace minid::http {

class ResponseHead {
  public:
    // Clears `out` (keeping its capacity) and writes "HTTP/1.1 <status> <reason>\r\n".
    ResponseHead(std::string& out, int status);

    void field(std::string_view name, std::string_view value);
    void field(std::string_view name, uint64_t value);
    // Complete field lines ("Name: value\r\n" each), e.g. a cached file's full_fields.
    void fields(std::string_view lines) { out_.append(lines); }
    // The entity fields of a file's response: Content-Type, Content-Length, Last-Modified, ETag
    // and Accept-Ranges.
    void entity_fields(std::string_view content_type, uint64_t length,
                       std::string_view last_modified, std::string_view etag);
    // The same into `out` alone (replacing what it held), to be kept and appended with fields().
    static void format_entity_fields(std::string& out, std::string_view content_type,
                                     uint64_t length, std::string_view last_modified,
                                     std::string_view etag);
    // "Content-Range: bytes first-last/size"
    void content_range(uint64_t first, uint64_t last, uint64_t size);
    // "Content-Range: bytes */size" (416)
    void unsatisfied_range(uint64_t size);
    // The empty line that ends the head.
    void finish();

  private:
    explicit ResponseHead(std::string& out) : out_(out) {}  // no status line: fields only
    void append_number(uint64_t v);
    std::string& out_;
};

}  // namespace minid::http
