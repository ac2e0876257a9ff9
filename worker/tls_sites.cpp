// TlsSites implementation: contexts from the bundle, the SNI callback, and the TLS-ALPN-01
// responder (ClientHello and ALPN callbacks).
#include "worker/tls_sites.hpp"

#include <fcntl.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

#include "common/acme_paths.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "worker/transport/ktls.hpp"
#include "worker/transport/tls_bundle.hpp"
#include "worker/transport/tls_transport.hpp"

namespace minid {
namespace {

constexpr unsigned char kAcmeTls1[] = {'a', 'c', 'm', 'e', '-', 't', 'l', 's', '/', '1'};
constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};

// Marks a connection answering a TLS-ALPN-01 challenge.
int challenge_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// The protocol in a wire-format ALPN list (length-prefixed names), or null.
const unsigned char* find_protocol(const unsigned char* in, size_t inlen, const unsigned char* want,
                                   size_t want_len) {
    for (size_t i = 0; i < inlen;) {
        const size_t len = in[i];
        if (i + 1 + len > inlen) break;
        if (len == want_len && std::memcmp(in + i + 1, want, len) == 0) return in + i + 1;
        i += 1 + len;
    }
    return nullptr;
}

// The host name of a ClientHello's server_name extension, lower case; "" if none.
std::string sni_of(SSL* ssl) {
    const unsigned char* p = nullptr;
    size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 5)
        return {};
    const size_t list = static_cast<size_t>(p[0]) << 8 | p[1];
    if (list + 2 > len || p[2] != TLSEXT_NAMETYPE_host_name) return {};
    const size_t name_len = static_cast<size_t>(p[3]) << 8 | p[4];
    if (5 + name_len > len) return {};
    std::string name(reinterpret_cast<const char*>(p + 5), name_len);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!name.empty() && name.back() == '.') name.pop_back();
    return name;
}

}  // namespace

Result<std::unique_ptr<TlsSites>> TlsSites::create(const Config& config, const Router& router,
                                                   std::string_view bundle,
                                                   TlsTicketKeys& tickets) {
    std::unique_ptr<TlsSites> sites(new TlsSites(router));
    sites->contexts_.resize(router.site_count());
    sites->awaiting_.resize(router.site_count());
    std::vector<SiteKeyPairs> decoded;
    if (!bundle.empty()) {
        auto d = decode_tls_bundle(bundle);
        if (!d) return make_error(d.error());
        decoded = std::move(d).value();
    }
    const TlsPolicy policy{config.tls_protocols, config.tls_ciphers};
    // The master said once why not, if the kernel has no kTLS (ktls.hpp).
    const bool ktls = config.tls_ktls && ktls_unavailable_reason().empty();
    for (const SiteKeyPairs& s : decoded) {
        size_t index = router.site_count();
        for (size_t i = 0; i < router.site_count(); ++i)
            if (router.site(i).name == s.site) index = i;
        const std::string where = s.site.empty() ? "[http]" : "[site " + s.site + "]";
        if (index == router.site_count())
            return make_error("the TLS bundle names " + where + ", which this config lacks");
        auto ctx = TlsContext::create(policy, s.pairs);
        if (!ctx) return make_error(where + ": " + ctx.error());
        // The macro SSL_CTX_set_tlsext_servername_callback casts in C style; this is its body.
        SSL_CTX_callback_ctrl(ctx->get(), SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                              reinterpret_cast<void (*)()>(&TlsSites::on_servername));
        SSL_CTX_set_tlsext_servername_arg(ctx->get(), sites.get());
        if (Status st = tickets.install(ctx->get()); !st)
            return make_error(where + ": " + st.error());
        if (ktls) SSL_CTX_set_options(ctx->get(), SSL_OP_ENABLE_KTLS);
        sites->contexts_[index].emplace(std::move(ctx).value());
    }
    if (!config.acme_enabled()) return sites;

    sites->acme_state_dir_ = config.acme_state_dir;
    sites->tls_alpn_ = config.acme_challenges.find("tls-alpn-01") != std::string::npos;
    for (const SiteSettings& s : config.sites) {
        if (!s.tls_auto) continue;
        for (size_t i = 0; i < router.site_count(); ++i)
            if (router.site(i).name == s.name && !sites->contexts_[i]) sites->awaiting_[i] = true;
    }
    if (!sites->initial()) {
        auto bare = TlsContext::create(policy, {});
        if (!bare) return make_error(bare.error());
        sites->bare_.emplace(std::move(bare).value());
    }
    // Every handshake starts on the initial context: that is where a challenge is recognized.
    SSL_CTX* first = sites->initial();
    SSL_CTX_callback_ctrl(first, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&TlsSites::on_servername));
    SSL_CTX_set_tlsext_servername_arg(first, sites.get());
    SSL_CTX_set_client_hello_cb(first, &TlsSites::on_client_hello, sites.get());
    SSL_CTX_set_alpn_select_cb(first, &TlsSites::on_alpn, sites.get());
    return sites;
}

SSL_CTX* TlsSites::initial() const {
    const auto& d = contexts_[router_.index_of(router_.default_site())];
    if (d) return d->get();
    return bare_ ? bare_->get() : nullptr;
}

void TlsSites::refuse(std::string_view name, size_t site) const {
    ++refused_;
    const int64_t now = static_cast<int64_t>(::time(nullptr));
    if (now - refused_logged_s_ < 10) return;
    refused_logged_s_ = now;
    const std::string& site_name = router_.site(site).name;
    log::warn("TLS handshake",
              name.empty() ? std::string(" without SNI") : " for " + std::string(name),
              " refused: ",
              site_name.empty() ? std::string("the default site") : "[site " + site_name + "]",
              " has no certificate yet (tls = auto: the ACME agent is obtaining it; see minidctl "
              "status); ",
              refused_, " refused so far");
}

bool TlsSites::use_challenge_certificate(SSL* ssl, const std::string& name) const {
    const std::string path = acme_paths::tls_alpn_file(acme_state_dir_, name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return false;
    char buf[8192];
    ssize_t n;
    do {
        n = ::read(fd.get(), buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    BIO* bio = BIO_new_mem_buf(buf, static_cast<int>(n));
    X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    // Only the challenge certificate: none of the site's own may be chosen instead.
    SSL_certs_clear(ssl);
    const bool ok =
        cert && key && SSL_use_certificate(ssl, cert) == 1 && SSL_use_PrivateKey(ssl, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

int TlsSites::on_client_hello(SSL* ssl, int* alert, void* arg) {
    const auto* self = static_cast<const TlsSites*>(arg);
    const unsigned char* ext = nullptr;
    size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                  &len) != 1 ||
        len < 2)
        return SSL_CLIENT_HELLO_SUCCESS;
    // A validator offers acme-tls/1 and nothing else (RFC 8737, 3); a browser never does.
    const bool only_acme = len == 2 + 1 + sizeof kAcmeTls1 &&
                           find_protocol(ext + 2, len - 2, kAcmeTls1, sizeof kAcmeTls1);
    if (!only_acme) return SSL_CLIENT_HELLO_SUCCESS;
    const std::string name = sni_of(ssl);
    if (!self->tls_alpn_ || name.empty() || !self->use_challenge_certificate(ssl, name)) {
        log::info("acme-tls/1 handshake for '", name,
                  "' refused: no TLS-ALPN-01 challenge is pending for that name");
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_ex_data(ssl, challenge_index(), const_cast<TlsSites*>(self));
    log::info("answering a TLS-ALPN-01 challenge for ", name);
    return SSL_CLIENT_HELLO_SUCCESS;
}

int TlsSites::on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                      const unsigned char* in, unsigned int inlen, void*) {
    const bool challenge = SSL_get_ex_data(ssl, challenge_index()) != nullptr;
    const unsigned char* want = challenge ? kAcmeTls1 : kHttp11;
    const size_t want_len = challenge ? sizeof kAcmeTls1 : sizeof kHttp11;
    const unsigned char* found = find_protocol(in, inlen, want, want_len);
    if (!found) return challenge ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
    *out = found;
    *outlen = static_cast<unsigned char>(want_len);
    return SSL_TLSEXT_ERR_OK;
}

int TlsSites::on_servername(SSL* ssl, int* alert, void* arg) {
    const auto* self = static_cast<const TlsSites*>(arg);
    // A TLS-ALPN-01 validation keeps the challenge certificate the ClientHello callback set.
    if (SSL_get_ex_data(ssl, challenge_index()) != nullptr) return SSL_TLSEXT_ERR_OK;
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const size_t default_index = self->router_.index_of(self->router_.default_site());
    if (name == nullptr) {
        // No SNI: the default site, no Host check; unless it has no certificate yet.
        if (self->bare_) {
            self->refuse("", default_index);
            *alert = SSL_AD_UNRECOGNIZED_NAME;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        return SSL_TLSEXT_ERR_NOACK;
    }
    const size_t index = self->router_.index_of(self->router_.site_for_host(name));
    if (TlsTransport* t = TlsTransport::of(ssl)) t->set_sni_site(static_cast<int>(index));
    const auto& ctx = self->contexts_[index];
    // A site with tls = auto and no certificate yet is refused rather than shown the default
    // site's certificate (which would not cover its name); so is any site while nothing has one.
    if (!ctx && (self->awaiting_[index] || self->bare_)) {
        self->refuse(name, index);
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    // A site without a certificate of its own is answered with the default one.
    if (ctx && ctx->get() != SSL_get_SSL_CTX(ssl) && SSL_set_SSL_CTX(ssl, ctx->get()) == nullptr) {
        log::error(ssl_error_text("SSL_set_SSL_CTX for SNI " + std::string(name)));
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace minid
