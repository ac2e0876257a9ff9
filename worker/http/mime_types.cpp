// The MIME table: sorted by extension for a binary search; values are static strings.
#include "worker/http/mime_types.hpp"

#include <algorithm>
#include <array>

#include "worker/http/ascii.hpp"

namespace minid::http {

namespace {

struct MimeEntry {
    std::string_view ext;
    std::string_view type;
};

constexpr std::array kMimeTable = {
    MimeEntry{"7z", "application/x-7z-compressed"},
    MimeEntry{"aac", "audio/aac"},
    MimeEntry{"apng", "image/apng"},
    MimeEntry{"atom", "application/atom+xml"},
    MimeEntry{"avif", "image/avif"},
    MimeEntry{"bmp", "image/bmp"},
    MimeEntry{"br", "application/x-brotli"},
    MimeEntry{"bz2", "application/x-bzip2"},
    MimeEntry{"css", "text/css; charset=utf-8"},
    MimeEntry{"csv", "text/csv; charset=utf-8"},
    MimeEntry{"deb", "application/vnd.debian.binary-package"},
    MimeEntry{"eot", "application/vnd.ms-fontobject"},
    MimeEntry{"epub", "application/epub+zip"},
    MimeEntry{"flac", "audio/flac"},
    MimeEntry{"gif", "image/gif"},
    MimeEntry{"gz", "application/gzip"},
    MimeEntry{"htm", "text/html; charset=utf-8"},
    MimeEntry{"html", "text/html; charset=utf-8"},
    MimeEntry{"ico", "image/x-icon"},
    MimeEntry{"ics", "text/calendar; charset=utf-8"},
    MimeEntry{"jpeg", "image/jpeg"},
    MimeEntry{"jpg", "image/jpeg"},
    MimeEntry{"js", "text/javascript; charset=utf-8"},
    MimeEntry{"json", "application/json"},
    MimeEntry{"jsonld", "application/ld+json"},
    MimeEntry{"jxl", "image/jxl"},
    MimeEntry{"m4a", "audio/mp4"},
    MimeEntry{"m4v", "video/mp4"},
    MimeEntry{"map", "application/json"},
    MimeEntry{"md", "text/markdown; charset=utf-8"},
    MimeEntry{"mjs", "text/javascript; charset=utf-8"},
    MimeEntry{"mov", "video/quicktime"},
    MimeEntry{"mp3", "audio/mpeg"},
    MimeEntry{"mp4", "video/mp4"},
    MimeEntry{"oga", "audio/ogg"},
    MimeEntry{"ogg", "audio/ogg"},
    MimeEntry{"ogv", "video/ogg"},
    MimeEntry{"opus", "audio/opus"},
    MimeEntry{"otf", "font/otf"},
    MimeEntry{"pdf", "application/pdf"},
    MimeEntry{"png", "image/png"},
    MimeEntry{"rss", "application/rss+xml"},
    MimeEntry{"rtf", "application/rtf"},
    MimeEntry{"svg", "image/svg+xml"},
    MimeEntry{"svgz", "image/svg+xml"},
    MimeEntry{"tar", "application/x-tar"},
    MimeEntry{"tif", "image/tiff"},
    MimeEntry{"tiff", "image/tiff"},
    MimeEntry{"ttf", "font/ttf"},
    MimeEntry{"txt", "text/plain; charset=utf-8"},
    MimeEntry{"vtt", "text/vtt; charset=utf-8"},
    MimeEntry{"wasm", "application/wasm"},
    MimeEntry{"wav", "audio/wav"},
    MimeEntry{"webm", "video/webm"},
    MimeEntry{"webmanifest", "application/manifest+json"},
    MimeEntry{"webp", "image/webp"},
    MimeEntry{"woff", "font/woff"},
    MimeEntry{"woff2", "font/woff2"},
    MimeEntry{"xhtml", "application/xhtml+xml"},
    MimeEntry{"xml", "text/xml; charset=utf-8"},
    MimeEntry{"xz", "application/x-xz"},
    MimeEntry{"yaml", "text/yaml; charset=utf-8"},
    MimeEntry{"yml", "text/yaml; charset=utf-8"},
    MimeEntry{"zip", "application/zip"},
    MimeEntry{"zst", "application/zstd"},
};

constexpr size_t kMaxExtension = 16;

constexpr bool table_is_sorted() {
    for (size_t i = 1; i < kMimeTable.size(); ++i) {
        if (!(kMimeTable[i - 1].ext < kMimeTable[i].ext)) return false;
        if (kMimeTable[i].ext.size() > kMaxExtension) return false;
    }
    return true;
}
static_assert(table_is_sorted(), "kMimeTable must stay sorted, unique and short");

}  // namespace

std::string_view mime_type_for(std::string_view path) noexcept {
    const size_t slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const size_t dot = name.rfind('.');
    // No dot, a trailing dot, or only a leading one (".bashrc" has no extension).
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) {
        return kDefaultMimeType;
    }
    const std::string_view ext = name.substr(dot + 1);
    if (ext.size() > kMaxExtension) return kDefaultMimeType;
    char lower[kMaxExtension];
    for (size_t i = 0; i < ext.size(); ++i) lower[i] = ascii::to_lower(ext[i]);
    const std::string_view key(lower, ext.size());
    const auto it =
        std::lower_bound(kMimeTable.begin(), kMimeTable.end(), key,
                         [](const MimeEntry& e, std::string_view k) { return e.ext < k; });
    if (it != kMimeTable.end() && it->ext == key) return it->type;
    return kDefaultMimeType;
}

}  // namespace minid::http
