// TlsTicketKeys: the session-ticket keys of one worker, installed on every SSL_CTX it builds with
// SSL_CTX_set_tlsext_ticket_key_evp_cb (AES-256-CBC + HMAC-SHA256, OpenSSL's own ticket format).
// The master sends the keys over the link (common/session_ticket_keys.hpp), so a ticket issued by
// any worker of any generation resumes here; until they arrive, the worker uses a random key of
// its own (tickets then resume on this worker only).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/session_ticket_keys.hpp"

namespace minid {

// A fresh key from OpenSSL's CSPRNG.
Result<SessionTicketKey> random_session_ticket_key();

class TlsTicketKeys {
  public:
    static Result<std::unique_ptr<TlsTicketKeys>> create();

    // `ctx` encrypts and decrypts its tickets with these keys from now on; `this` must outlive it.
    Status install(SSL_CTX* ctx);
    // The master's keys (a link payload), newest first; the old ones are forgotten.
    Status replace(std::string_view payload);
    bool from_master() const { return from_master_; }
    const std::vector<SessionTicketKey>& keys() const { return keys_; }

  private:
    TlsTicketKeys() = default;
    // OpenSSL's ticket callback: enc = 1 fills `name` and `iv` and keys both contexts with the
    // newest key; enc = 0 finds the key by `name` (0: unknown, a full handshake; 2: an older
    // key, so the client gets a ticket under the newest).
    static int on_ticket(SSL* ssl, unsigned char name[16], unsigned char* iv,
                         EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc);

    std::vector<SessionTicketKey> keys_;  // newest first, never empty
    bool from_master_ = false;
};

}  // namespace minid
