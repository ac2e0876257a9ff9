// StaticFallbackHandler: a site's files first, its app second (`proxy_fallback = UPSTREAM`), the
// usual Django/Flask layout: a GET or HEAD that finds a file gets it, every other request (a
// missing file, a POST) goes to the upstream.
#pragma once

#include "worker/http/exchange.hpp"
#include "worker/http/handler.hpp"
#include "worker/http/static_handler.hpp"

namespace minid {

class StaticFallbackHandler final : public http::Handler {
  public:
    StaticFallbackHandler(http::StaticHandler& files, http::Handler& app)
        : files_(files), app_(app) {}

    void handle(http::Exchange& ex) override {
        const http::Request& req = ex.request();
        if (req.method != http::Method::other) {
            files_.build(req, ex.now(), ex.response());
            if (ex.response().status() != 404) {
                ex.respond();
                return;
            }
            ex.response().reset(200);
        }
        app_.handle(ex);
    }

  private:
    http::StaticHandler& files_;
    http::Handler& app_;
};

}  // namespace minid
