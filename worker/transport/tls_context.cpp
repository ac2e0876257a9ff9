// TlsContext: Mozilla's "intermediate" settings (v6) on an OpenSSL 3 SSL_CTX: TLS 1.2 and 1.3,
// ECDHE+AEAD ciphers for 1.2, groups X25519:P-256:P-384, no renegotiation, no compression, ALPN
// http/1.1, and buffers released while a connection is idle.
#include "worker/transport/tls_context.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>

#include "common/config_values.hpp"

namespace minid {
namespace {

constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};

int version_of(std::string_view word) {
    if (word == "TLSv1.2") return TLS1_2_VERSION;
    if (word == "TLSv1.3") return TLS1_3_VERSION;
    return 0;
}

// ALPN: http/1.1 if the client offers it; h2 waits for the HTTP/2 work. A client that offers
// only other protocols gets no ALPN answer and may go on or leave, its choice.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
    for (unsigned int i = 0; i < inlen;) {
        const unsigned int len = in[i];
        if (i + 1 + len > inlen) break;
        if (len == sizeof kHttp11 && std::memcmp(in + i + 1, kHttp11, len) == 0) {
            *out = in + i + 1;
            *outlen = static_cast<unsigned char>(len);
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

Result<TlsContext> TlsContext::create(const TlsPolicy& policy,
                                      std::span<const TlsKeyPairText> pairs) {
    ssl_clear_errors();
    if (auto why = tls_protocols_problem(policy.protocols))
        return make_error("invalid tls_protocols: " + *why);
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return make_error(ssl_error_text("SSL_CTX_new"));
    SSL_CTX* c = ctx.get();
    int lo = TLS1_3_VERSION;
    int hi = TLS1_2_VERSION;
    for (std::string_view word : split_words(policy.protocols)) {
        lo = std::min(lo, version_of(word));
        hi = std::max(hi, version_of(word));
    }
    if (SSL_CTX_set_min_proto_version(c, lo) != 1 || SSL_CTX_set_max_proto_version(c, hi) != 1)
        return make_error(ssl_error_text("tls_protocols"));
    if (SSL_CTX_set_cipher_list(c, policy.ciphers.c_str()) != 1)
        return make_error(ssl_error_text("invalid tls_ciphers '" + policy.ciphers + "'"));
    if (SSL_CTX_set1_groups_list(c, kGroups) != 1)
        return make_error(ssl_error_text("SSL_CTX_set1_groups_list"));
    // The client's cipher preference (Mozilla intermediate: every offered suite is strong, and
    // the client knows whether it has AES hardware). No renegotiation, no compression. A peer
    // that closes without close_notify ends its input like a FIN: requests frame themselves.
    SSL_CTX_set_options(
        c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_clear_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Partial writes: one record per SSL_write returns as soon as it is out, so a blocked
    // write keeps only what it had encrypted. Moving buffer: a retry re-gathers the same bytes
    // into the shared scratch buffer. Release buffers: an idle connection keeps no 16 KiB
    // read/write buffers (the 4 KiB idle budget).
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    // Read-ahead: one recv takes a record's header and body (and whatever follows) instead of
    // two recvs per record; TlsTransport announces what OpenSSL holds (has_buffered_input).
    SSL_CTX_set_read_ahead(c, 1);
    // No server-side session cache: it would be per worker; tickets carry the state instead.
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);

    for (const TlsKeyPairText& text : pairs) {
        auto pair = parse_key_pair(text);
        if (!pair) return make_error(pair.error());
        // override = 0: a second pair of the same key type is an error, not a silent swap.
        if (SSL_CTX_use_cert_and_key(c, pair->leaf.get(), pair->key.get(), pair->chain.get(), 0) !=
            1)
            return make_error(ssl_error_text(text.certificate_file + ": cannot be used (a second " +
                                             key_type_name(pair->key.get()) +
                                             " certificate for the same site?)"));
    }
    return TlsContext(std::move(ctx));
}

}  // namespace minid
