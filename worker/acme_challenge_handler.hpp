// HTTP-01 (RFC 8555, 8.3) in the workers: GET /.well-known/acme-challenge/TOKEN on a plain
// listener answers TOKEN.THUMBPRINT. The key authorization depends only on the token and the
// account key's thumbprint (which the master passes in the config), so any well-formed token
// is answered with no state shared with the ACME agent; a CA only asks for the tokens it gave.
#pragma once

#include <string>
#include <string_view>

#include "worker/http/handler.hpp"
#include "worker/http/static_handler.hpp"

namespace minid {

class AcmeChallengeHandler final : public http::Handler {
  public:
    static constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

    AcmeChallengeHandler(std::string thumbprint, http::StaticHandler& pages)
        : thumbprint_(std::move(thumbprint)), pages_(pages) {}
    void handle(http::Exchange& ex) override;

    // A token is base64url (RFC 8555, 8.1: at least 128 bits of entropy); anything else is 404.
    static bool valid_token(std::string_view token);

  private:
    std::string thumbprint_;
    http::StaticHandler& pages_;
};

}  // namespace minid
