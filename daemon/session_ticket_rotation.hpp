// The master's TLS session-ticket keys: random (OpenSSL's RAND_bytes), in memory only, rotated
// on a timer. The newest encrypts; the two before it still decrypt, so a ticket issued just
// before a rotation keeps working for two more periods (lighttpd and Caddy keep a few too).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/session_ticket_keys.hpp"

namespace minid {

class SessionTicketRotation {
  public:
    // The current key and the two before it.
    static constexpr size_t kKept = 3;

    // One fresh key.
    static Result<SessionTicketRotation> create();
    // The keys a previous master image handed over (re-exec), so its tickets keep resuming.
    static Result<SessionTicketRotation> restore(std::string_view encoded);

    // A new key in front; the oldest beyond kKept is forgotten.
    Status rotate();
    const std::vector<SessionTicketKey>& keys() const { return keys_; }
    // The link payload (encode_session_ticket_keys).
    std::string encoded() const { return encode_session_ticket_keys(keys_); }

  private:
    SessionTicketRotation() = default;
    std::vector<SessionTicketKey> keys_;  // newest first
};

}  // namespace minid
