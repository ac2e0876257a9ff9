// ProxyHandler: the checks before a request may go upstream, the request pool and the proxy's
// own error pages.
#include "worker/proxy/proxy_handler.hpp"

#include "worker/http/ascii.hpp"
#include "worker/http/http_date.hpp"

namespace minid::proxy {
namespace {

// The authority of an absolute-form target ("http://a.example:8080/x" -> "a.example:8080"),
// "" for any other form.
std::string_view absolute_authority(std::string_view target) {
    size_t skip = 0;
    if (target.size() >= 7 && http::ascii::iequals(target.substr(0, 7), "http://"))
        skip = 7;
    else if (target.size() >= 8 && http::ascii::iequals(target.substr(0, 8), "https://"))
        skip = 8;
    else
        return {};
    std::string_view rest = target.substr(skip);
    return rest.substr(0, rest.find_first_of("/?#"));
}

std::string_view page_for(int status) {
    switch (status) {
        case 400:
            return "<html><head><title>400 Bad Request</title></head><body><h1>400 Bad "
                   "Request</h1></body></html>\n";
        case 405:
            return "<html><head><title>405 Method Not Allowed</title></head><body><h1>405 "
                   "Method Not Allowed</h1></body></html>\n";
        case 502:
            return "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad "
                   "Gateway</h1><p>The application did not answer properly.</p></body></html>\n";
        case 503:
            return "<html><head><title>503 Service Unavailable</title></head><body><h1>503 "
                   "Service Unavailable</h1><p>The application is busy.</p></body></html>\n";
        case 504:
            return "<html><head><title>504 Gateway Timeout</title></head><body><h1>504 Gateway "
                   "Timeout</h1><p>The application did not answer in time.</p></body></html>\n";
        default:
            return "<html><head><title>Error</title></head><body><h1>Error</h1></body></html>\n";
    }
}

}  // namespace

void proxy_error_response(int status, std::time_t now, http::Response& out) {
    const std::string_view page = page_for(status);
    out.reset(status);
    char date[http::kHttpDateLength];
    http::format_http_date(now, date);
    out.head.field("Date", std::string_view(date, sizeof date));
    out.head.field("Content-Type", "text/html");
    out.head.field("Content-Length", page.size());
    if (status == 405) out.head.field("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    out.body_kind = http::Response::BodyKind::memory;
    out.memory = page;
    out.body_length = page.size();
}

void ProxyHandler::handle(http::Exchange& ex) {
    const http::Request& req = ex.request();
    // Never an open proxy: CONNECT tunnels anywhere, and an absolute-form target naming another
    // host than the Host header asks us to fetch from elsewhere.
    int refuse = 0;
    if (http::ascii::iequals(req.method_name, "CONNECT")) {
        refuse = 405;
    } else if (const std::string_view authority = absolute_authority(req.target);
               !authority.empty() && !http::ascii::iequals(authority, req.host)) {
        refuse = 400;
    } else if (!req.target.empty() && req.target.front() != '/' && req.target != "*" &&
               absolute_authority(req.target).empty()) {
        refuse = 400;
    }
    if (refuse != 0) {
        proxy_error_response(refuse, ex.now(), ex.response());
        // The body (if any) is not wanted: a client waiting on 100-continue hears at once.
        ex.response().close = req.has_body;
        ex.respond();
        return;
    }
    ProxyRequest* r = nullptr;
    if (!free_.empty()) {
        r = free_.back();
        free_.pop_back();
    } else {
        all_.push_back(std::make_unique<ProxyRequest>(*this, pool_, loop_));
        r = all_.back().get();
    }
    r->start(ex, stream_);
}

}  // namespace minid::proxy
