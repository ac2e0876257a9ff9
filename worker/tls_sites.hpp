// TlsSites: a worker's TLS contexts, one per site with a certificate, built from the bundle the
// master sealed with the config. Every connection starts with the default site's context; the
// SNI callback switches to the named site's (Router::site_for_host on the bare name) and
// records that site on the transport, for the Host check (421).
// Sites with `tls = auto`: until the ACME agent has their first certificate their handshakes
// fail with a log line saying so; a client offering only ALPN `acme-tls/1` (a CA validating
// TLS-ALPN-01) gets the challenge certificate the agent left in the state directory instead,
// and a normal client never sees one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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
    // The default site's context; one without a certificate while that site waits for its
    // first ACME certificate; null when it has none and no site has tls = auto.
    SSL_CTX* initial() const;

  private:
    explicit TlsSites(const Router& router) : router_(router) {}
    static int on_servername(SSL* ssl, int* alert, void* arg);
    static int on_client_hello(SSL* ssl, int* alert, void* arg);
    static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                       const unsigned char* in, unsigned int inlen, void* arg);
    // Loads the TLS-ALPN-01 certificate for `name` into `ssl`; false if there is none.
    bool use_challenge_certificate(SSL* ssl, const std::string& name) const;
    // A handshake refused for want of a certificate: logged, at most once every 10 s.
    void refuse(std::string_view name, size_t site) const;

    const Router& router_;
    std::vector<std::optional<TlsContext>> contexts_;  // by router site index
    std::vector<bool> awaiting_;                       // by router site index: tls = auto, none yet
    std::optional<TlsContext> bare_;  // the initial context when the default site has none
    std::string acme_state_dir_;      // "" = no site with tls = auto
    bool tls_alpn_ = false;           // tls-alpn-01 is among [acme] challenges
    mutable uint64_t refused_ = 0;
    mutable int64_t refused_logged_s_ = 0;
};

}  // namespace minid
