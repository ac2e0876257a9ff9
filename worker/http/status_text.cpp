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
    // The rest of RFC 9110's codes and RFC 6585's: an app behind the proxy sends any of them,
    // and a client should see its name rather than "Unknown".
    StatusText{100, "Continue"},
    StatusText{101, "Switching Protocols"},
    StatusText{103, "Early Hints"},
    StatusText{201, "Created"},
    StatusText{202, "Accepted"},
    StatusText{203, "Non-Authoritative Information"},
    StatusText{204, "No Content"},
    StatusText{205, "Reset Content"},
    StatusText{300, "Multiple Choices"},
    StatusText{302, "Found"},
    StatusText{303, "See Other"},
    StatusText{307, "Temporary Redirect"},
    StatusText{401, "Unauthorized"},
    StatusText{402, "Payment Required"},
    StatusText{406, "Not Acceptable"},
    StatusText{407, "Proxy Authentication Required"},
    StatusText{409, "Conflict"},
    StatusText{410, "Gone"},
    StatusText{411, "Length Required"},
    StatusText{412, "Precondition Failed"},
    StatusText{415, "Unsupported Media Type"},
    StatusText{417, "Expectation Failed"},
    StatusText{422, "Unprocessable Content"},
    StatusText{426, "Upgrade Required"},
    StatusText{428, "Precondition Required"},
    StatusText{429, "Too Many Requests"},
    StatusText{502, "Bad Gateway"},
    StatusText{504, "Gateway Timeout"},
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
