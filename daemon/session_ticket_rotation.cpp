// SessionTicketRotation: the keep-three rotation of keys from OpenSSL's CSPRNG.
#include "daemon/session_ticket_rotation.hpp"

#include "worker/transport/tls_ticket_keys.hpp"

namespace minid {

Result<SessionTicketRotation> SessionTicketRotation::create() {
    SessionTicketRotation r;
    if (Status st = r.rotate(); !st) return make_error(st.error());
    return r;
}

Result<SessionTicketRotation> SessionTicketRotation::restore(std::string_view encoded) {
    auto keys = decode_session_ticket_keys(encoded);
    if (!keys) return make_error(keys.error());
    SessionTicketRotation r;
    r.keys_ = std::move(keys).value();
    if (r.keys_.size() > kKept) r.keys_.resize(kKept);
    return r;
}

Status SessionTicketRotation::rotate() {
    auto key = random_session_ticket_key();
    if (!key) return make_error(key.error());
    keys_.insert(keys_.begin(), *key);
    if (keys_.size() > kKept) keys_.resize(kKept);
    return {};
}

}  // namespace minid
