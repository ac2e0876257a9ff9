// Content-Type from a file name's extension (case-insensitive); text types carry a charset.
#pragma once

#include <string_view>

namespace minid::http {

inline constexpr std::string_view kDefaultMimeType = "application/octet-stream";

// `path` may be a whole path; only the extension of its last segment counts. The returned view
// is static. Unknown or missing extensions give kDefaultMimeType.
std::string_view mime_type_for(std::string_view path) noexcept;

}  // namespace minid::http
