// TLS session-ticket keys as the master sends them to workers: a list, newest first, each a
// 16-byte name (sent in the clear inside every ticket, to find its key), an AES-256 key and an
// HMAC-SHA256 key. The newest encrypts new tickets; the others only decrypt.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace minid {

struct SessionTicketKey {
    std::array<uint8_t, 16> name{};
    std::array<uint8_t, 32> aes{};
    std::array<uint8_t, 32> hmac{};

    bool operator==(const SessionTicketKey&) const = default;
};

// On the wire: one byte of count, then each key as name, aes, hmac (80 bytes).
inline constexpr size_t kSessionTicketKeyBytes = 80;
inline constexpr size_t kMaxSessionTicketKeys = 8;

std::string encode_session_ticket_keys(const std::vector<SessionTicketKey>& keys);
// Rejects an empty list, more than kMaxSessionTicketKeys, and a length that does not match.
Result<std::vector<SessionTicketKey>> decode_session_ticket_keys(std::string_view bytes);

}  // namespace minid
