// ResponseHead: a response's status and header fields, independent of the wire protocol. Fields
// are kept in order as "Name: value\r\n" lines, so the HTTP/1 serializer copies them in one go and
// a cached file's pre-formatted block is just more lines; other protocols walk them as pairs.
// Building a head does not allocate once the string's capacity has grown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace minid::http {

class ResponseHead {
  public:
    // Starts a new head (keeping the capacity).
    void reset(int status);
    int status() const { return status_; }

    // Names and values must not contain CR or LF (callers pass constants, numbers, validated
    // values); nothing here checks it on the hot path.
    void field(std::string_view name, std::string_view value);
    void field(std::string_view name, uint64_t value);
    // Complete field lines ("Name: value\r\n" each), e.g. a cached file's full_fields.
    void fields(std::string_view lines) { lines_.append(lines); }
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

    // Every field as HTTP/1 lines, in order.
    std::string_view lines() const { return lines_; }
    // Calls fn(name, value) for every field, in order.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        std::string_view rest = lines_;
        while (!rest.empty()) {
            const size_t eol = rest.find("\r\n");
            const std::string_view line = rest.substr(0, eol);
            const size_t colon = line.find(':');
            std::string_view value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            fn(line.substr(0, colon), value);
            rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 2);
        }
    }
    // The value of the first field `name` (case-insensitive), or "" if there is none.
    std::string_view find(std::string_view name) const;

  private:
    void append_number(uint64_t v);

    int status_ = 200;
    std::string lines_;
};

}  // namespace minid::http
