// The ACME cryptography checked with OpenSSL itself: JWS signatures verify (ES256 r||s turned
// back into DER, RS256 as is), the RFC 7638 thumbprint of the RFC's own example key, CSRs carry
// exactly the names and verify, the TLS-ALPN-01 certificate has the critical acmeIdentifier.
#include "acme/acme_crypto.hpp"

#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "tests/unit/acme/verify_signature.hpp"

namespace minid::acme {
namespace {

using json = nlohmann::json;

TEST(AcmeCrypto, Base64UrlHasNoPaddingAndRoundTrips) {
    EXPECT_EQ(base64url(""), "");
    EXPECT_EQ(base64url("f"), "Zg");
    EXPECT_EQ(base64url("fo"), "Zm8");
    EXPECT_EQ(base64url("foo"), "Zm9v");
    EXPECT_EQ(base64url("\xfb\xff"), "-_8");
    for (std::string s : {"", "a", "ab", "abc", "abcd", "\x00\xff\x10 x"})
        EXPECT_EQ(base64url_decode(base64url(s)).value(), s);
    EXPECT_FALSE(base64url_decode("a+b").ok());
}

// RFC 7638, 3.1: the example RSA key and its thumbprint.
TEST(AcmeCrypto, ThumbprintOfTheRfc7638Example) {
    const std::string n = base64url_decode(
                              "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1R"
                              "K7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9"
                              "yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZg"
                              "nYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6We"
                              "Zu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDK"
                              "gw")
                              .value();
    BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                             static_cast<int>(n.size()), nullptr);
    BIGNUM* bn_e = BN_new();
    BN_set_word(bn_e, 65537);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    EVP_PKEY* raw = nullptr;
    ASSERT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
    ASSERT_EQ(EVP_PKEY_fromdata(ctx, &raw, EVP_PKEY_PUBLIC_KEY, params), 1);
    Pkey key(raw);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    EXPECT_EQ(jwk_thumbprint(key.get()).value(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    EXPECT_EQ(jwk(key.get())->dump().substr(0, 24), R"({"e":"AQAB","kty":"RSA",)");
}

TEST(AcmeCrypto, JwsSignaturesVerifyWithOpenSsl) {
    for (KeyType type : {KeyType::p256, KeyType::rsa2048}) {
        auto key = generate_key(type);
        ASSERT_TRUE(key.ok()) << key.error();
        const json header{{"alg", jws_algorithm(key->get())}, {"nonce", "n1"}, {"url", "u"}};
        auto text = jws(key->get(), header, R"({"a":1})");
        ASSERT_TRUE(text.ok()) << text.error();
        auto j = json::parse(*text);
        EXPECT_EQ(json::parse(base64url_decode(j["protected"].get<std::string>()).value()), header);
        EXPECT_EQ(base64url_decode(j["payload"].get<std::string>()).value(), R"({"a":1})");
        const std::string sig = base64url_decode(j["signature"].get<std::string>()).value();
        if (type == KeyType::p256) EXPECT_EQ(sig.size(), 64u);
        const std::string input =
            j["protected"].get<std::string>() + "." + j["payload"].get<std::string>();
        EXPECT_TRUE(testing::verify_signature(key->get(), input, sig)) << jws_algorithm(key->get());
        EXPECT_FALSE(testing::verify_signature(key->get(), input + "x", sig));
        // The JWK holds the public key that verifies: x and y are 32 bytes each for P-256.
        auto pub = jwk(key->get());
        ASSERT_TRUE(pub.ok());
        if (type == KeyType::p256) {
            EXPECT_EQ(base64url_decode((*pub)["x"].get<std::string>())->size(), 32u);
            EXPECT_EQ(jws_algorithm(key->get()), "ES256");
        } else {
            EXPECT_EQ(jws_algorithm(key->get()), "RS256");
        }
    }
}

TEST(AcmeCrypto, PrivateKeyPemRoundTripsWithTheSameThumbprint) {
    auto key = generate_key(KeyType::p256);
    auto pem = private_key_pem(key->get());
    ASSERT_TRUE(pem.ok());
    auto back = parse_private_key_pem(*pem);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(jwk_thumbprint(back->get()).value(), jwk_thumbprint(key->get()).value());
    EXPECT_FALSE(parse_private_key_pem("garbage").ok());
}

std::vector<std::string> dns_names(GENERAL_NAMES* names) {
    std::vector<std::string> out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_DNS) continue;
        out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                         static_cast<size_t>(ASN1_STRING_length(g->d.dNSName)));
    }
    GENERAL_NAMES_free(names);
    return out;
}

TEST(AcmeCrypto, CsrHasTheNamesAsSansAndVerifies) {
    for (KeyType type : {KeyType::p256, KeyType::rsa2048}) {
        auto key = generate_key(type);
        auto der = make_csr_der(key->get(), {"a.example", "b.example"});
        ASSERT_TRUE(der.ok()) << der.error();
        const auto* p = reinterpret_cast<const unsigned char*>(der->data());
        X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size()));
        ASSERT_NE(req, nullptr);
        EXPECT_EQ(X509_REQ_verify(req, key->get()), 1);
        STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
        auto* san = static_cast<GENERAL_NAMES*>(
            X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
        ASSERT_NE(san, nullptr);
        EXPECT_EQ(dns_names(san), (std::vector<std::string>{"a.example", "b.example"}));
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        X509_REQ_free(req);
    }
    EXPECT_FALSE(make_csr_der(generate_key(KeyType::p256)->get(), {}).ok());
}

TEST(AcmeCrypto, TlsAlpnCertificateCarriesTheCriticalAcmeIdentifier) {
    auto pem = tls_alpn_challenge_pem("a.example", "token.thumb");
    ASSERT_TRUE(pem.ok()) << pem.error();
    BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ASSERT_NE(cert, nullptr);
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(X509_check_private_key(cert, key), 1);
    auto* san =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    EXPECT_EQ(dns_names(san), std::vector<std::string>{"a.example"});
    ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    const int at = X509_get_ext_by_OBJ(cert, oid, -1);
    ASSERT_GE(at, 0);
    X509_EXTENSION* ext = X509_get_ext(cert, at);
    EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    const std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                            static_cast<size_t>(ASN1_STRING_length(data)));
    EXPECT_EQ(value, std::string("\x04\x20", 2) + sha256("token.thumb"));
    ASN1_OBJECT_free(oid);
    EVP_PKEY_free(key);
    X509_free(cert);
}

}  // namespace
}  // namespace minid::acme
