// The master's ticket-key rotation: fresh random keys, newest first, three kept, and a restore
// from a hand-over that keeps the same keys.
#include "daemon/session_ticket_rotation.hpp"

#include <gtest/gtest.h>

namespace minid {
namespace {

TEST(SessionTicketRotation, RotatesNewestFirstKeepingThree) {
    auto r = SessionTicketRotation::create();
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_EQ(r->keys().size(), 1u);
    std::vector<SessionTicketKey> seen{r->keys().front()};
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(r->rotate().ok());
        EXPECT_NE(r->keys().front(), seen.back()) << "a new key each time";
        seen.push_back(r->keys().front());
    }
    ASSERT_EQ(r->keys().size(), SessionTicketRotation::kKept);
    EXPECT_EQ(r->keys()[0], seen[4]);
    EXPECT_EQ(r->keys()[1], seen[3]);
    EXPECT_EQ(r->keys()[2], seen[2]);
    EXPECT_NE(r->keys()[0].name, r->keys()[1].name);
    EXPECT_NE(r->keys()[0].aes, r->keys()[0].hmac);
}

TEST(SessionTicketRotation, RestoreKeepsTheHandedOverKeys) {
    auto r = SessionTicketRotation::create();
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->rotate().ok());
    auto back = SessionTicketRotation::restore(r->encoded());
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->keys(), r->keys());
    EXPECT_FALSE(SessionTicketRotation::restore("junk").ok());
}

}  // namespace
}  // namespace minid
