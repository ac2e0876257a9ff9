// For the ACME tests: checks a JWS signature with OpenSSL itself (ES256's r||s turned back into
// the DER OpenSSL verifies, RS256 as is).
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <string>

namespace minid::acme::testing {

inline bool verify_signature(EVP_PKEY* key, const std::string& input, std::string sig) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        if (sig.size() != 64) return false;
        ECDSA_SIG* s = ECDSA_SIG_new();
        const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
        ECDSA_SIG_set0(s, BN_bin2bn(p, 32, nullptr), BN_bin2bn(p + 32, 32, nullptr));
        unsigned char* der = nullptr;
        const int len = i2d_ECDSA_SIG(s, &der);
        sig.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
        OPENSSL_free(der);
        ECDSA_SIG_free(s);
    }
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key);
    const int ok =
        EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(md);
    return ok == 1;
}

}  // namespace minid::acme::testing
