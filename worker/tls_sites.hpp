// TlsSites: a worker's TLS contexts, one per site with a certificate, built from the bundle the
// master sealed with the config. Every connection starts with the default site's context; the
// SNI callback switches to the named site's (Router::site_for_host on the bare name) and
// records that site on the transport, for the Host check (421).
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"
#include "worker/router.hpp"
#include "worker/transport/tls_context.hpp"
#include "worker/transport/tls_ticket_keys.hpp"

namespace minid {

class TlsSites {
  public:
    // `router` and `tickets` (the worker's session-ticket keys, installed on every context) must
    // outlive the result. An error names the site and the reason.
    static Result<std::unique_ptr<TlsSites>> create(const Config& config, const Router& router,
                                                    std::string_view bundle,
                                                    TlsTicketKeys& tickets);
    // The default site's context; null when it has no certificate.
    SSL_CTX* initial() const;

  private:
    explicit TlsSites(const Router& router) : router_(router) {}
    static int on_servername(SSL* ssl, int* alert, void* arg);

    const Router& router_;
    std::vector<std::optional<TlsContext>> contexts_;  // by router site index
};

}  // namespace minid
