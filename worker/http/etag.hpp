// Entity tags: nginx-style strong validators from mtime and size, and the comparisons
// If-None-Match (weak) and If-Range (strong) need (RFC 9110 8.8.3).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace minid::http {

// "\"<mtime hex>-<size hex>\"", e.g. "\"5f5e1000-1a\"". Same shape as nginx, so caches that
// saw one server in front of the same files keep validating.
std::string make_etag(std::time_t mtime, uint64_t size);

// If-None-Match: true when `header` is "*" or lists a tag that weakly matches `etag`
// (W/ prefixes ignored). A malformed list matches nothing.
bool if_none_match_matches(std::string_view header, std::string_view etag) noexcept;

// Strong comparison: both tags strong and byte-for-byte equal.
bool etag_strong_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace minid::http
