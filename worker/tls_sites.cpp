// TlsSites implementation: contexts from the bundle, and the SNI callback.
#include "worker/tls_sites.hpp"

#include "common/log.hpp"
#include "worker/transport/ktls.hpp"
#include "worker/transport/tls_bundle.hpp"
#include "worker/transport/tls_transport.hpp"

namespace minid {

Result<std::unique_ptr<TlsSites>> TlsSites::create(const Config& config, const Router& router,
                                                   std::string_view bundle,
                                                   TlsTicketKeys& tickets) {
    std::unique_ptr<TlsSites> sites(new TlsSites(router));
    sites->contexts_.resize(router.site_count());
    auto decoded = decode_tls_bundle(bundle);
    if (!decoded) return make_error(decoded.error());
    const TlsPolicy policy{config.tls_protocols, config.tls_ciphers};
    // The master said once why not, if the kernel has no kTLS (ktls.hpp).
    const bool ktls = config.tls_ktls && ktls_unavailable_reason().empty();
    for (const SiteKeyPairs& s : *decoded) {
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
    return sites;
}

SSL_CTX* TlsSites::initial() const {
    const auto& d = contexts_[router_.index_of(router_.default_site())];
    return d ? d->get() : nullptr;
}

int TlsSites::on_servername(SSL* ssl, int*, void* arg) {
    const auto* self = static_cast<const TlsSites*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;  // no SNI: the default site, no Host check
    const size_t index = self->router_.index_of(self->router_.site_for_host(name));
    if (TlsTransport* t = TlsTransport::of(ssl)) t->set_sni_site(static_cast<int>(index));
    // A site without a certificate of its own is answered with the default one.
    const auto& ctx = self->contexts_[index];
    if (ctx && ctx->get() != SSL_get_SSL_CTX(ssl) && SSL_set_SSL_CTX(ssl, ctx->get()) == nullptr) {
        log::error(ssl_error_text("SSL_set_SSL_CTX for SNI " + std::string(name)));
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace minid
