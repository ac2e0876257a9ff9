// The wire format of session-ticket keys (master -> worker link, re-exec hand-over).
#include "common/session_ticket_keys.hpp"

#include <cstring>

namespace minid {

std::string encode_session_ticket_keys(const std::vector<SessionTicketKey>& keys) {
    std::string out;
    out.reserve(1 + keys.size() * kSessionTicketKeyBytes);
    out.push_back(static_cast<char>(keys.size()));
    for (const SessionTicketKey& k : keys) {
        out.append(reinterpret_cast<const char*>(k.name.data()), k.name.size());
        out.append(reinterpret_cast<const char*>(k.aes.data()), k.aes.size());
        out.append(reinterpret_cast<const char*>(k.hmac.data()), k.hmac.size());
    }
    return out;
}

Result<std::vector<SessionTicketKey>> decode_session_ticket_keys(std::string_view bytes) {
    if (bytes.empty()) return make_error("session-ticket keys: empty message");
    const size_t count = static_cast<uint8_t>(bytes[0]);
    if (count == 0 || count > kMaxSessionTicketKeys)
        return make_error("session-ticket keys: " + std::to_string(count) +
                          " keys, expected 1 to " + std::to_string(kMaxSessionTicketKeys));
    if (bytes.size() != 1 + count * kSessionTicketKeyBytes)
        return make_error("session-ticket keys: " + std::to_string(bytes.size()) + " bytes for " +
                          std::to_string(count) + " keys, expected " +
                          std::to_string(1 + count * kSessionTicketKeyBytes));
    std::vector<SessionTicketKey> keys(count);
    const char* p = bytes.data() + 1;
    for (SessionTicketKey& k : keys) {
        std::memcpy(k.name.data(), p, k.name.size());
        p += k.name.size();
        std::memcpy(k.aes.data(), p, k.aes.size());
        p += k.aes.size();
        std::memcpy(k.hmac.data(), p, k.hmac.size());
        p += k.hmac.size();
    }
    return keys;
}

}  // namespace minid
