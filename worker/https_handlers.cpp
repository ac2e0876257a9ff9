// HttpsRedirectHandler and MisdirectedHandler.
#include "worker/https_handlers.hpp"

#include "worker/http/exchange.hpp"

namespace minid {

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
    location_ += req.target.starts_with('/') ? req.target : std::string_view("/");
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
