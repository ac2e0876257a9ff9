// TlsTicketKeys implementation: the ticket callback on AES-256-CBC and HMAC-SHA256, and the keys
// found through the SSL_CTX's ex data (the callback gets no argument of its own).
#include "worker/transport/tls_ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

#include "worker/transport/tls_errors.hpp"

namespace minid {
namespace {

int ex_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// OSSL_PARAM wants a mutable string.
char kDigest[] = "SHA256";

bool key_mac(EVP_MAC_CTX* mac, const SessionTicketKey& key) {
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(key.hmac.data()),
                                          key.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, kDigest, 0),
        OSSL_PARAM_construct_end()};
    return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

Result<SessionTicketKey> random_session_ticket_key() {
    SessionTicketKey k;
    ssl_clear_errors();
    if (RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) != 1 ||
        RAND_bytes(k.aes.data(), static_cast<int>(k.aes.size())) != 1 ||
        RAND_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) != 1)
        return make_error(ssl_error_text("RAND_bytes for a session-ticket key"));
    return k;
}

Result<std::unique_ptr<TlsTicketKeys>> TlsTicketKeys::create() {
    auto key = random_session_ticket_key();
    if (!key) return make_error(key.error());
    std::unique_ptr<TlsTicketKeys> keys(new TlsTicketKeys());
    keys->keys_.push_back(*key);
    return keys;
}

Status TlsTicketKeys::install(SSL_CTX* ctx) {
    ssl_clear_errors();
    if (ex_index() < 0 || SSL_CTX_set_ex_data(ctx, ex_index(), this) != 1 ||
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TlsTicketKeys::on_ticket) != 1)
        return make_error(ssl_error_text("installing the session-ticket key callback"));
    return {};
}

Status TlsTicketKeys::replace(std::string_view payload) {
    auto keys = decode_session_ticket_keys(payload);
    if (!keys) return make_error(keys.error());
    keys_ = std::move(keys).value();
    from_master_ = true;
    return {};
}

int TlsTicketKeys::on_ticket(SSL* ssl, unsigned char name[16], unsigned char* iv,
                             EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
    const auto* self =
        static_cast<const TlsTicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
    if (self == nullptr || self->keys_.empty()) return 0;  // no ticket / not ours: full handshake
    const int iv_len = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
    if (enc == 1) {
        const SessionTicketKey& key = self->keys_.front();
        if (RAND_bytes(iv, iv_len) != 1) return -1;
        std::memcpy(name, key.name.data(), key.name.size());
        if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1 ||
            !key_mac(mac, key))
            return -1;
        return 1;
    }
    for (size_t i = 0; i < self->keys_.size(); ++i) {
        const SessionTicketKey& key = self->keys_[i];
        if (std::memcmp(name, key.name.data(), key.name.size()) != 0) continue;
        if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1 ||
            !key_mac(mac, key))
            return -1;
        return i == 0 ? 1 : 2;
    }
    return 0;
}

}  // namespace minid
