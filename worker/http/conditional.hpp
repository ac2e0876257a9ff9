// Conditional requests (RFC 9110 13): If-None-Match / If-Modified-Since for 304, and If-Range.
#pragma once

#include <ctime>
#include <string_view>

namespace minid::http {

// True when a GET/HEAD should be answered 304. If-None-Match, when present, decides alone;
// otherwise If-Modified-Since (an unparsable date is ignored) compares with `mtime`.
bool is_not_modified(std::string_view if_none_match, std::string_view if_modified_since,
                     std::string_view etag, std::time_t mtime) noexcept;

// True when a Range may be honoured: no If-Range, or it names the current representation
// (strong ETag match, or exactly the Last-Modified date).
bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t mtime) noexcept;

}  // namespace minid::http
