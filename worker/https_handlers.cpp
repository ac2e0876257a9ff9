// HttpsRedirectHandler and MisdirectedHandler.
#include "worker/https_handlers.hpp"

#include "worker/http/exchange.hpp"

namespace minid {
namespace {

// The path and query of a target: itself in origin-form, what follows the authority in
// absolute-form ("http://a.example/x?y" -> "/x?y"), else "/".
std::string_view path_of(std::string_view target) {
    if (target.starts_with('/')) return target;
    const size_t scheme = target.find("://");
    if (scheme == std::string_view::npos) return "/";
    const size_t path = target.find('/', scheme + 3);
    return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
}

}  // namespace

void HttpsRedirectHandler::handle(http::Exchange& ex) {
    const http::Request& req = ex.request();
    std::string_view host = req.host;
    if (!host.empty() && host.front() == '[') {
        host = host.substr(0, host.find(']') + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    location_ = "https://";
    location_ += host;
    if (https_port_ != 0 && https_port_ != 443) {
        location_ += ':';
        location_ += std::to_string(https_port_);
    }
    location_ += path_of(req.target);
    http::Response& out = ex.response();
    out.reset(308);
    out.head.field("Location", location_);
    out.head.field("Content-Length", uint64_t{0});
    ex.respond();
}

void MisdirectedHandler::handle(http::Exchange& ex) {
    pages_.error(421, ex.now(), ex.response());
    ex.respond();
}

}  // namespace minid
