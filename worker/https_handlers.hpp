// The two answers HTTPS adds before a site's own handler: 308 to https for a plain-HTTP request
// to a site with redirect_https, and 421 for a TLS request whose Host names another site than
// the one its SNI chose.
#pragma once

#include <cstdint>
#include <string>

#include "worker/http/handler.hpp"
#include "worker/http/static_handler.hpp"

namespace minid {

// Location: https://HOST[:PORT]TARGET, with HOST from the request (its port dropped) and PORT
// the worker's TLS port unless it is 443 or unknown (0).
class HttpsRedirectHandler final : public http::Handler {
  public:
    explicit HttpsRedirectHandler(uint16_t https_port) : https_port_(https_port) {}
    void handle(http::Exchange& ex) override;
    // ACME HTTP-01 challenges must be answered over plain HTTP: never redirected.
    static bool exempt(std::string_view target) {
        return target.starts_with("/.well-known/acme-challenge/");
    }

  private:
    uint16_t https_port_;
    std::string location_;  // reused
};

// 421 Misdirected Request (and the connection closes, so the client retries on a new one).
class MisdirectedHandler final : public http::Handler {
  public:
    explicit MisdirectedHandler(http::StaticHandler& pages) : pages_(pages) {}
    void handle(http::Exchange& ex) override;

  private:
    http::StaticHandler& pages_;
};

}  // namespace minid
