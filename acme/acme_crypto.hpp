// The cryptography of ACME (RFC 8555) on OpenSSL 3: account and certificate keys (P-256,
// RSA-2048), JWK and its RFC 7638 thumbprint, JWS signatures (ES256 as raw r||s, RS256), CSRs
// with the names as SANs, and the TLS-ALPN-01 challenge certificate (RFC 8737).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace minid::acme {

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

enum class KeyType { p256, rsa2048 };

// "p256" or "rsa2048" (the [acme] key_type values).
Result<KeyType> parse_key_type(std::string_view name);

Result<Pkey> generate_key(KeyType type);
Result<std::string> private_key_pem(EVP_PKEY* key);
Result<Pkey> parse_private_key_pem(std::string_view pem);

std::string base64url(std::string_view bytes);  // no padding
Result<std::string> base64url_decode(std::string_view text);
std::string sha256(std::string_view bytes);

// The public key as a JWK: {"crv","kty","x","y"} or {"e","kty","n"} (only the required members,
// so that dump() is also the RFC 7638 canonical form).
Result<nlohmann::json> jwk(EVP_PKEY* key);
// base64url(SHA-256(canonical JWK)): the account's part of every key authorization.
Result<std::string> jwk_thumbprint(EVP_PKEY* key);
// "ES256" or "RS256".
std::string jws_algorithm(EVP_PKEY* key);
// The JWS signature over `input`: 64 bytes r||s for P-256, PKCS#1 v1.5 for RSA.
Result<std::string> sign(EVP_PKEY* key, std::string_view input);
// A flattened JWS JSON serialization (RFC 7515, 7.2.2) of `payload` ("" for POST-as-GET).
Result<std::string> jws(EVP_PKEY* key, const nlohmann::json& protected_header,
                        std::string_view payload);

// A PKCS#10 request in DER for `names` (all as subjectAltName dNSNames, the first also as CN).
Result<std::string> make_csr_der(EVP_PKEY* key, const std::vector<std::string>& names);

// RFC 8737: a self-signed certificate for `name` with the critical acmeIdentifier extension
// holding SHA-256(key_authorization). Returns certificate PEM followed by its key's PEM.
Result<std::string> tls_alpn_challenge_pem(const std::string& name,
                                           std::string_view key_authorization);

}  // namespace minid::acme
