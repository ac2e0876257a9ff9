// PEM parsing and the checks on a certificate and key (OpenSSL 3 APIs only).
#include "worker/transport/tls_credentials.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace minid {
namespace {

BioPtr memory_bio(const std::string& text) {
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// True if the only error left after reading PEM blocks to the end is "no start line" (the end).
bool clean_pem_end() {
    const unsigned long e = ERR_peek_last_error();
    const bool end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    if (end) ERR_clear_error();
    return end || e == 0;
}

}  // namespace

Result<TlsKeyPair> parse_key_pair(const TlsKeyPairText& text) {
    ssl_clear_errors();
    const std::string& cf = text.certificate_file;
    TlsKeyPair pair;
    BioPtr bio = memory_bio(text.certificate_pem);
    if (!bio) return make_error(ssl_error_text(cf));
    pair.leaf.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!pair.leaf) return make_error(ssl_error_text(cf + ": no PEM certificate could be read"));
    pair.chain.reset(sk_X509_new_null());
    if (!pair.chain) return make_error(ssl_error_text(cf));
    while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        if (sk_X509_push(pair.chain.get(), next) == 0) {
            X509_free(next);
            return make_error(ssl_error_text(cf));
        }
    }
    if (!clean_pem_end())
        return make_error(ssl_error_text(cf + ": unreadable certificate after the first"));
    // Leaf first, then each certificate issued by the next one (what clients expect to walk).
    X509* child = pair.leaf.get();
    for (int i = 0; i < sk_X509_num(pair.chain.get()); ++i) {
        X509* issuer = sk_X509_value(pair.chain.get(), i);
        if (X509_check_issued(issuer, child) != X509_V_OK)
            return make_error(cf + ": the chain is not in order: certificate " +
                              std::to_string(i + 2) + " did not issue certificate " +
                              std::to_string(i + 1) + " (give the leaf first, then its issuers)");
        child = issuer;
    }

    BioPtr kbio = memory_bio(text.key_pem);
    if (!kbio) return make_error(ssl_error_text(text.key_file));
    pair.key.reset(PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
    if (!pair.key)
        return make_error(ssl_error_text(text.key_file + ": no PEM private key could be read"));
    if (X509_check_private_key(pair.leaf.get(), pair.key.get()) != 1) {
        ssl_clear_errors();
        return make_error(text.key_file + ": the key does not match the certificate in " + cf);
    }
    return pair;
}

std::vector<std::string> key_pair_warnings(const TlsKeyPair& pair, const std::string& file,
                                           const std::vector<std::string>& hosts, std::time_t now) {
    std::vector<std::string> out;
    X509* leaf = pair.leaf.get();
    if (X509_cmp_time(X509_get0_notAfter(leaf), &now) < 0)
        out.push_back(file + ": the certificate has expired; clients will refuse it");
    if (X509_cmp_time(X509_get0_notBefore(leaf), &now) > 0)
        out.push_back(file + ": the certificate is not valid yet; clients will refuse it");
    for (const std::string& host : hosts) {
        int ok = 0;
        if (host.size() > 2 && host.front() == '[') {
            const std::string ip = host.substr(1, host.size() - 2);
            ok = X509_check_ip_asc(leaf, ip.c_str(), 0);
        } else if (host.starts_with("*.")) {
            const std::string probe = "a" + host.substr(1);
            ok = X509_check_host(leaf, probe.data(), probe.size(), 0, nullptr);
        } else {
            ok = X509_check_host(leaf, host.data(), host.size(), 0, nullptr);
        }
        if (ok != 1) out.push_back(file + ": the certificate does not name host " + host);
    }
    ssl_clear_errors();
    return out;
}

std::string key_type_name(const EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA:
            return "RSA";
        case EVP_PKEY_EC:
            return "ECDSA";
        case EVP_PKEY_ED25519:
            return "Ed25519";
        default: {
            const char* name = EVP_PKEY_get0_type_name(key);
            return name ? name : "unknown";
        }
    }
}

}  // namespace minid
