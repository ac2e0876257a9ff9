// Status texts: one table; error pages are built from it once, on first use.
#include "worker/http/status_text.hpp"

#include <array>
#include <string>

namespace minid::http {

namespace {

struct StatusText {
    int status;
    std::string_view reason;
};

constexpr std::array kStatuses = {
    StatusText{200, "OK"},
    StatusText{206, "Partial Content"},
    StatusText{301, "Moved Permanently"},
    StatusText{304, "Not Modified"},
    StatusText{308, "Permanent Redirect"},
    StatusText{400, "Bad Request"},
    StatusText{403, "Forbidden"},
    StatusText{404, "Not Found"},
    StatusText{405, "Method Not Allowed"},
    StatusText{408, "Request Timeout"},
    StatusText{413, "Content Too Large"},
    StatusText{414, "URI Too Long"},
    StatusText{416, "Range Not Satisfiable"},
    StatusText{421, "Misdirected Request"},
    StatusText{431, "Request Header Fields Too Large"},
    StatusText{500, "Internal Server Error"},
    StatusText{501, "Not Implemented"},
    StatusText{503, "Service Unavailable"},
    StatusText{505, "HTTP Version Not Supported"},
};

struct Pages {
    std::array<std::string, kStatuses.size()> html;
    Pages() {
        for (size_t i = 0; i < kStatuses.size(); ++i) {
            const std::string title =
                std::to_string(kStatuses[i].status) + " " + std::string(kStatuses[i].reason);
            html[i] = "<!DOCTYPE html>\n<html><head><title>" + title +
                      "</title></head>\n<body><h1>" + title + "</h1></body></html>\n";
        }
    }
};

constexpr size_t kNotFound = kStatuses.size();

constexpr size_t index_of(int status) noexcept {
    for (size_t i = 0; i < kStatuses.size(); ++i) {
        if (kStatuses[i].status == status) return i;
    }
    return kNotFound;
}

}  // namespace

std::string_view reason_phrase(int status) noexcept {
    const size_t i = index_of(status);
    return i == kNotFound ? "Unknown" : kStatuses[i].reason;
}

std::string_view error_page(int status) noexcept {
    static const Pages pages;
    const size_t i = index_of(status);
    // A status without a page is a bug on our side: say so as a 500 rather than send nothing.
    return pages.html[i == kNotFound ? index_of(500) : i];
}

}  // namespace minid::http
