// Tests for entity-tag creation and comparison.
#include "worker/http/etag.hpp"

#include <gtest/gtest.h>

namespace minid::http {
namespace {

TEST(Etag, NginxShape) {
    EXPECT_EQ(make_etag(0x5f5e1000, 0x1a), "\"5f5e1000-1a\"");
    EXPECT_EQ(make_etag(1700000000, 0), "\"6553f100-0\"");
}

TEST(Etag, IfNoneMatchWeakComparison) {
    const std::string e = "\"abc-1\"";
    EXPECT_TRUE(if_none_match_matches("\"abc-1\"", e));
    EXPECT_TRUE(if_none_match_matches("W/\"abc-1\"", e));
    EXPECT_TRUE(if_none_match_matches("\"x\", W/\"abc-1\"", e));
    EXPECT_TRUE(if_none_match_matches("\"x\",\"abc-1\" ,\"y\"", e));
    EXPECT_TRUE(if_none_match_matches(" * ", e));
    EXPECT_TRUE(if_none_match_matches("\"abc-1\"", "W/\"abc-1\""));
    EXPECT_FALSE(if_none_match_matches("\"abc-2\"", e));
    EXPECT_FALSE(if_none_match_matches("abc-1", e));
    EXPECT_FALSE(if_none_match_matches("\"abc-1", e));
    EXPECT_FALSE(if_none_match_matches("w/\"abc-1\"", e));
    EXPECT_FALSE(if_none_match_matches("\"a\" \"abc-1\"", e));
    EXPECT_FALSE(if_none_match_matches("", e));
}

TEST(Etag, StrongComparison) {
    EXPECT_TRUE(etag_strong_equal("\"abc\"", "\"abc\""));
    EXPECT_FALSE(etag_strong_equal("W/\"abc\"", "\"abc\""));
    EXPECT_FALSE(etag_strong_equal("\"abc\"", "W/\"abc\""));
    EXPECT_FALSE(etag_strong_equal("\"abc\"", "\"abd\""));
    EXPECT_FALSE(etag_strong_equal("\"abc\" ", "\"abc\""));
    EXPECT_FALSE(etag_strong_equal("abc", "abc"));
}

}  // namespace
}  // namespace minid::http
