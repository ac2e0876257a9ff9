// The session-ticket key wire format: round trips, and rejected counts and lengths.
#include "common/session_ticket_keys.hpp"

#include <gtest/gtest.h>

namespace minid {
namespace {

SessionTicketKey key(uint8_t seed) {
    SessionTicketKey k;
    for (size_t i = 0; i < k.name.size(); ++i) k.name[i] = static_cast<uint8_t>(seed + i);
    for (size_t i = 0; i < k.aes.size(); ++i) k.aes[i] = static_cast<uint8_t>(seed * 3 + i);
    for (size_t i = 0; i < k.hmac.size(); ++i) k.hmac[i] = static_cast<uint8_t>(seed * 7 + i);
    return k;
}

TEST(SessionTicketKeys, RoundTripNewestFirst) {
    const std::vector<SessionTicketKey> keys{key(1), key(2), key(3)};
    const std::string wire = encode_session_ticket_keys(keys);
    EXPECT_EQ(wire.size(), 1 + 3 * kSessionTicketKeyBytes);
    auto back = decode_session_ticket_keys(wire);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(*back, keys);
}

TEST(SessionTicketKeys, BadCountsAndLengthsAreRejected) {
    EXPECT_NE(decode_session_ticket_keys("").error().find("empty message"), std::string::npos);
    EXPECT_NE(
        decode_session_ticket_keys(std::string(1, '\0')).error().find("0 keys, expected 1 to 8"),
        std::string::npos);
    std::string nine = encode_session_ticket_keys(std::vector<SessionTicketKey>(9, key(0)));
    EXPECT_NE(decode_session_ticket_keys(nine).error().find("9 keys"), std::string::npos);
    std::string cut = encode_session_ticket_keys({key(1), key(2)});
    cut.pop_back();
    EXPECT_NE(decode_session_ticket_keys(cut).error().find("160 bytes for 2 keys, expected 161"),
              std::string::npos);
}

}  // namespace
}  // namespace minid
