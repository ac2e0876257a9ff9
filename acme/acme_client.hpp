// An RFC 8555 client: directory, nonces (a badNonce is retried with the fresh nonce the error
// carries), the account (onlyReturnExisting when one is on record), orders, authorizations,
// challenges, polling that honours Retry-After, finalization and the certificate download.
// Synchronous: it runs in the ACME agent process, never in the master or a worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/acme_crypto.hpp"
#include "acme/acme_http.hpp"
#include "common/result.hpp"

namespace minid::acme {

struct ClientOptions {
    std::string directory_url;
    std::string email;                    // "" = no contact
    std::vector<std::string> challenges;  // preferred first: "http-01", "tls-alpn-01"
    // How long one authorization or the order may stay pending before we give up.
    std::chrono::seconds poll_limit{90};
};

// Puts a challenge answer in place before the CA is told to look, and takes it away after.
// HTTP-01 needs nothing (the workers answer any token from the account thumbprint).
struct ChallengeHooks {
    std::function<Status(const std::string& type, const std::string& name,
                         const std::string& key_authorization)>
        present;
    std::function<void(const std::string& type, const std::string& name)> cleanup;
};

// The time source and the waits, injected so tests need no clock.
struct ClientClock {
    std::function<int64_t()> now_s;
    std::function<void(std::chrono::milliseconds)> sleep;
};

struct Issued {
    std::string chain_pem;  // leaf first
    std::string order_url;
};

// RFC 9773 renewal information: renew at a time chosen in [start, end] (unix seconds).
struct RenewalWindow {
    int64_t start = 0;
    int64_t end = 0;
    int64_t retry_after_s = 0;  // when to ask again (Retry-After), 0 = unknown
};

class Client {
  public:
    Client(HttpClient& http, EVP_PKEY* account_key, ClientOptions options, ClientClock clock);

    // Fetches the directory and makes sure the account exists. `known_url` is the account URL
    // on record ("" = none): then only an existing account is looked up, never a new one made.
    Status open(const std::string& known_url);
    const std::string& account_url() const { return kid_; }

    // One order for `names`, start to finish. `cert_key` is the new certificate's key.
    Result<Issued> obtain(const std::vector<std::string>& names, EVP_PKEY* cert_key,
                          const ChallengeHooks& hooks);

    // ARI: the CA's suggested window for the certificate (PEM, leaf first); an error when the
    // CA has no renewalInfo endpoint (pebble 2.4.0) or the answer is malformed.
    Result<RenewalWindow> renewal_info(const std::string& chain_pem);
    bool has_renewal_info() const { return !renewal_info_url_.empty(); }
    // The Retry-After of the last failed renewalInfo request, in seconds (0 = none said).
    int64_t ari_retry_after_s() const { return ari_retry_after_s_; }

    // Seconds the CA asked us to wait (Retry-After on its last error), 0 = none said.
    int64_t retry_after_s() const { return retry_after_s_; }
    // Orders placed by this client (for logs and tests).
    uint64_t orders() const { return orders_; }
    // Challenges the CA found invalid in the last obtain() (failed validations).
    unsigned failed_validations() const { return failed_validations_; }

  private:
    Status fetch_directory();
    Status refresh_nonce();
    // A signed POST (payload "" = POST-as-GET); retries a badNonce a few times. Non-2xx
    // responses become errors worded from the problem document.
    Result<HttpResponse> post(const std::string& url, const std::string& payload,
                              bool use_jwk = false);
    Result<nlohmann::json> post_json(const std::string& url, const std::string& payload,
                                     HttpResponse* raw = nullptr);
    Status authorize(const std::string& authz_url, const ChallengeHooks& hooks);
    Result<nlohmann::json> poll(const std::string& url, const char* what,
                                const std::vector<std::string>& done_states);
    void wait_retry_after(const HttpResponse& r);

    HttpClient& http_;
    EVP_PKEY* key_;
    ClientOptions options_;
    ClientClock clock_;
    std::string thumbprint_;
    std::string new_nonce_url_, new_account_url_, new_order_url_, renewal_info_url_;
    std::string nonce_;
    std::string kid_;
    int64_t retry_after_s_ = 0;
    int64_t ari_retry_after_s_ = 0;
    uint64_t orders_ = 0;
    unsigned failed_validations_ = 0;
};

// The problem document (RFC 7807) of an ACME error response as one line an operator can act
// on: "CA: urn:...:rateLimited: too many certificates (subproblem: ...)".
std::string describe_problem(const HttpResponse& r);
// Retry-After as seconds from `now_s`: delta-seconds or an HTTP date; 0 when absent or bad.
int64_t parse_retry_after(const std::string& value, int64_t now_s);

}  // namespace minid::acme
