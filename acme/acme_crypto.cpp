// ACME cryptography on OpenSSL 3; see acme_crypto.hpp.
#include "acme/acme_crypto.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>

namespace minid::acme {
namespace {

template <typename T, void (*F)(T*)>
struct Free {
    void operator()(T* p) const { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Free<X509_REQ, X509_REQ_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;
using ObjPtr = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT, ASN1_OBJECT_free>>;
using OctetPtr =
    std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG, ECDSA_SIG_free>>;

Error openssl_error(const std::string& what) {
    std::string m = what;
    const unsigned long e = ERR_get_error();
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        m += ": ";
        m += buf;
    }
    ERR_clear_error();
    return make_error(std::move(m));
}

bool is_ec(EVP_PKEY* key) {
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;
}

Result<std::string> bn_param(EVP_PKEY* key, const char* name, int pad) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return openssl_error(name);
    BnPtr bn(raw);
    const int size = pad > 0 ? pad : BN_num_bytes(bn.get());
    std::string out(static_cast<size_t>(size), '\0');
    if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), size) != size)
        return openssl_error(name);
    return out;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(n));
}

// Adds "DNS:a,DNS:b" as subjectAltName to a certificate (x509) or a stack (for a CSR).
Result<ExtPtr> san_extension(const std::vector<std::string>& names) {
    std::string value;
    for (const std::string& n : names) {
        if (!value.empty()) value += ',';
        value += "DNS:" + n;
    }
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, value.c_str()));
    if (!ext) return openssl_error("subjectAltName " + value);
    return ext;
}

}  // namespace

Result<KeyType> parse_key_type(std::string_view name) {
    if (name == "p256") return KeyType::p256;
    if (name == "rsa2048") return KeyType::rsa2048;
    return make_error("unknown key type '" + std::string(name) + "': expected p256 or rsa2048");
}

Result<Pkey> generate_key(KeyType type) {
    EVP_PKEY* raw = type == KeyType::p256
                        ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    if (!raw) return openssl_error("key generation");
    return Pkey(raw);
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return openssl_error("PEM_write_bio_PrivateKey");
    return bio_text(bio.get());
}

Result<Pkey> parse_private_key_pem(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!raw) return openssl_error("not a PEM private key");
    return Pkey(raw);
}

std::string base64url(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    auto at = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
    for (; i + 2 < bytes.size(); i += 3) {
        const uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
        for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
    }
    if (i + 1 == bytes.size()) {
        const uint32_t v = at(i) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
    } else if (i + 2 == bytes.size()) {
        const uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}

Result<std::string> base64url_decode(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '-') return 62;
        if (c == '_') return 63;
        return -1;
    };
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const int v = value(c);
        if (v < 0) return make_error("invalid base64url character");
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6) return make_error("truncated base64url");
    return out;
}

std::string sha256(std::string_view bytes) {
    std::array<unsigned char, 32> md{};
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<const char*>(md.data()), len);
}

Result<nlohmann::json> jwk(EVP_PKEY* key) {
    if (is_ec(key)) {
        auto x = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        if (!x) return make_error(x.error());
        auto y = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
        if (!y) return make_error(y.error());
        return nlohmann::json{
            {"crv", "P-256"}, {"kty", "EC"}, {"x", base64url(*x)}, {"y", base64url(*y)}};
    }
    auto n = bn_param(key, OSSL_PKEY_PARAM_RSA_N, 0);
    if (!n) return make_error(n.error());
    auto e = bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0);
    if (!e) return make_error(e.error());
    return nlohmann::json{{"e", base64url(*e)}, {"kty", "RSA"}, {"n", base64url(*n)}};
}

Result<std::string> jwk_thumbprint(EVP_PKEY* key) {
    auto j = jwk(key);
    if (!j) return make_error(j.error());
    // nlohmann's objects keep their members sorted and dump() adds no whitespace: RFC 7638's
    // canonical form.
    return base64url(sha256(j->dump()));
}

std::string jws_algorithm(EVP_PKEY* key) {
    return is_ec(key) ? "ES256" : "RS256";
}

Result<std::string> sign(EVP_PKEY* key, std::string_view input) {
    MdCtxPtr md(EVP_MD_CTX_new());
    if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
        return openssl_error("EVP_DigestSignInit");
    size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    if (EVP_DigestSign(md.get(), nullptr, &len, in, input.size()) != 1)
        return openssl_error("EVP_DigestSign");
    std::string sig(len, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                       input.size()) != 1)
        return openssl_error("EVP_DigestSign");
    sig.resize(len);
    if (!is_ec(key)) return sig;
    // JWS wants the two 32-byte integers side by side (RFC 7518, 3.4), not OpenSSL's DER.
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    SigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    if (!ecdsa) return openssl_error("d2i_ECDSA_SIG");
    std::string raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), out, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), out + 32, 32) != 32)
        return openssl_error("ECDSA signature to r||s");
    return raw;
}

Result<std::string> jws(EVP_PKEY* key, const nlohmann::json& protected_header,
                        std::string_view payload) {
    const std::string header64 = base64url(protected_header.dump());
    const std::string payload64 = base64url(payload);
    auto signature = sign(key, header64 + "." + payload64);
    if (!signature) return make_error(signature.error());
    return nlohmann::json{
        {"protected", header64}, {"payload", payload64}, {"signature", base64url(*signature)}}
        .dump();
}

Result<std::string> make_csr_der(EVP_PKEY* key, const std::vector<std::string>& names) {
    if (names.empty()) return make_error("a CSR needs at least one name");
    ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1) return openssl_error("X509_REQ_new");
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1,
                                   0) != 1)
        return openssl_error("CSR subject");
    auto san = san_extension(names);
    if (!san) return make_error(san.error());
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    sk_X509_EXTENSION_push(exts, san->get());
    const int added = X509_REQ_add_extensions(req.get(), exts);
    sk_X509_EXTENSION_free(exts);  // the extension itself stays owned by `san`
    if (added != 1) return openssl_error("X509_REQ_add_extensions");
    if (X509_REQ_set_pubkey(req.get(), key) != 1 ||
        X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0)
        return openssl_error("CSR signature");
    const int len = i2d_X509_REQ(req.get(), nullptr);
    if (len <= 0) return openssl_error("i2d_X509_REQ");
    std::string der(static_cast<size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509_REQ(req.get(), &p);
    return der;
}

Result<std::string> tls_alpn_challenge_pem(const std::string& name,
                                           std::string_view key_authorization) {
    auto key = generate_key(KeyType::p256);
    if (!key) return make_error(key.error());
    X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), 2) != 1) return openssl_error("X509_new");
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 86'400);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), subject);
    auto san = san_extension({name});
    if (!san) return make_error(san.error());
    if (X509_add_ext(cert.get(), san->get(), -1) != 1) return openssl_error("X509_add_ext SAN");
    // id-pe-acmeIdentifier (RFC 8737, 3): critical, an OCTET STRING of the SHA-256 digest. The
    // extension's value is the DER of that OCTET STRING.
    const std::string digest = sha256(key_authorization);
    std::string der = std::string("\x04\x20", 2) + digest;
    ObjPtr oid(OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1));
    OctetPtr value(ASN1_OCTET_STRING_new());
    if (!oid || !value ||
        ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()),
                              static_cast<int>(der.size())) != 1)
        return openssl_error("acmeIdentifier");
    ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1)
        return openssl_error("X509_add_ext acmeIdentifier");
    if (X509_set_pubkey(cert.get(), key->get()) != 1 ||
        X509_sign(cert.get(), key->get(), EVP_sha256()) <= 0)
        return openssl_error("X509_sign");
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1 ||
        PEM_write_bio_PrivateKey(bio.get(), key->get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return openssl_error("challenge certificate PEM");
    return bio_text(bio.get());
}

}  // namespace minid::acme
