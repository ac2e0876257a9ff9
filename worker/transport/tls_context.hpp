// TlsContext: one SSL_CTX with the protocol policy and a site's certificates (one per key type:
// ECDSA and RSA side by side, OpenSSL picks what the client supports). Built by a worker for
// each site with certificates, and by the master to check a config before it is used.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "worker/transport/tls_credentials.hpp"
#include "worker/transport/tls_errors.hpp"

namespace minid {

struct TlsPolicy {
    // Space-separated versions, a subset of "TLSv1.2 TLSv1.3" (Mozilla intermediate v6).
    std::string protocols;
    // OpenSSL cipher list for TLS 1.2; TLS 1.3 keeps OpenSSL's suites (all AEAD).
    std::string ciphers;
};

class TlsContext {
  public:
    // An error names the file at fault ("FILE: reason") or the policy key.
    static Result<TlsContext> create(const TlsPolicy& policy,
                                     std::span<const TlsKeyPairText> pairs);

    SSL_CTX* get() const { return ctx_.get(); }

  private:
    explicit TlsContext(SslCtxPtr ctx) : ctx_(std::move(ctx)) {}
    SslCtxPtr ctx_;
};

}  // namespace minid
