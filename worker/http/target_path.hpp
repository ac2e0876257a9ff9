// Request-target <-> file path: decodes a target into a normalised path relative to the
// document root that cannot climb out of it, and encodes a path back for a Location header.
#pragma once

#include <string>
#include <string_view>

namespace minid::http {

struct TargetPath {
    int status = 0;          // 0 when usable; 400 malformed or climbing; 404 dotfile
    std::string_view path;   // relative to the root: "" (the root), "a/b.txt", "a/" (a directory)
    bool directory = false;  // the target named a directory (trailing '/', "." or "..")
    bool has_query = false;
    std::string_view query;  // raw, without '?' (ignored for lookup, kept for redirects)
};

// Owns the buffer the decoded path lives in, so decoding does not allocate once the buffer
// has grown to the longest target seen. The returned path is valid until the next decode().
class TargetDecoder {
  public:
    TargetDecoder() { buf_.reserve(1024); }

    // Accepts origin-form ("/a/b?q") and absolute-form ("http://host/a/b?q"). Percent-escapes
    // are decoded before dot-segments are merged, so "%2e%2e" and "%2f" are ordinary "..", "/".
    // Segments starting with '.' are refused with 404 (except a first ".well-known").
    TargetPath decode(std::string_view target);

  private:
    std::string buf_;
};

// Appends "/" + percent-encoded `path` (a TargetPath::path) to `out`.
void append_encoded_path(std::string& out, std::string_view path);

}  // namespace minid::http
