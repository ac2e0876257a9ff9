// Certificates made in the test with OpenSSL's APIs: a CA, leaves it signs (ECDSA P-256 or
// RSA-2048), as PEM text, so no test depends on files or the openssl command.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "worker/transport/tls_errors.hpp"

namespace minid::testing {

struct TestKey {
    EvpPkeyPtr key;
    std::string pem;
};

inline std::string bio_text(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<size_t>(n));
}

inline TestKey make_key(bool rsa = false) {
    TestKey k;
    k.key.reset(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
    BioPtr b(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(b.get(), k.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    k.pem = bio_text(b.get());
    return k;
}

inline std::string cert_pem(X509* x) {
    BioPtr b(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(b.get(), x);
    return bio_text(b.get());
}

struct CertOptions {
    std::string common_name = "localhost";
    std::vector<std::string> dns_names{"localhost"};
    long serial = 1;
    long valid_from_s = -3600;  // relative to now
    long valid_for_s = 86400;
    bool ca = false;
};

// A certificate for `subject_key`, signed by `issuer_key` as `issuer` (null: self-signed).
inline X509Ptr make_cert(const CertOptions& o, EVP_PKEY* subject_key, EVP_PKEY* issuer_key,
                         X509* issuer = nullptr) {
    X509Ptr x(X509_new());
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), o.serial);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), o.valid_from_s);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), o.valid_from_s + o.valid_for_s);
    X509_set_pubkey(x.get(), subject_key);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(o.common_name.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
    auto add = [&](int nid, const std::string& value) {
        if (value.empty()) return;
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
        X509_add_ext(x.get(), ext, -1);
        X509_EXTENSION_free(ext);
    };
    add(NID_basic_constraints, o.ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (o.ca) add(NID_key_usage, "critical,keyCertSign,cRLSign");
    std::string san;
    for (const std::string& d : o.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    add(NID_subject_alt_name, san);
    X509_sign(x.get(), issuer_key, EVP_sha256());
    return x;
}

// A self-signed leaf and its key, as PEM.
struct TestPair {
    std::string cert_pem;
    std::string key_pem;
};

inline TestPair make_self_signed(const CertOptions& o = {}, bool rsa = false) {
    TestKey k = make_key(rsa);
    X509Ptr x = make_cert(o, k.key.get(), k.key.get());
    return {cert_pem(x.get()), k.pem};
}

}  // namespace minid::testing
