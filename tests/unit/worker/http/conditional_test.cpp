// Tests for 304 decisions and If-Range.
#include "worker/http/conditional.hpp"

#include <gtest/gtest.h>

namespace minid::http {
namespace {

constexpr std::time_t kMtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
const std::string kEtag = "\"2ebc98a1-5\"";

TEST(Conditional, IfNoneMatchDecidesAlone) {
    EXPECT_TRUE(is_not_modified(kEtag, {}, kEtag, kMtime));
    EXPECT_TRUE(is_not_modified("*", {}, kEtag, kMtime));
    // A non-matching If-None-Match wins over a matching If-Modified-Since.
    EXPECT_FALSE(is_not_modified("\"other\"", "Sun, 06 Nov 1994 08:49:37 GMT", kEtag, kMtime));
}

TEST(Conditional, IfModifiedSince) {
    EXPECT_TRUE(is_not_modified({}, "Sun, 06 Nov 1994 08:49:37 GMT", kEtag, kMtime));
    EXPECT_TRUE(is_not_modified({}, "Sun, 06 Nov 1994 08:49:38 GMT", kEtag, kMtime));
    EXPECT_TRUE(is_not_modified({}, "Sunday, 06-Nov-94 08:49:37 GMT", kEtag, kMtime));
    EXPECT_TRUE(is_not_modified({}, "Sun Nov  6 08:49:37 1994", kEtag, kMtime));
    EXPECT_FALSE(is_not_modified({}, "Sun, 06 Nov 1994 08:49:36 GMT", kEtag, kMtime));
    EXPECT_FALSE(is_not_modified({}, "garbage", kEtag, kMtime));
    EXPECT_FALSE(is_not_modified({}, {}, kEtag, kMtime));
}

TEST(Conditional, IfRange) {
    EXPECT_TRUE(if_range_allows({}, kEtag, kMtime));
    EXPECT_TRUE(if_range_allows(kEtag, kEtag, kMtime));
    EXPECT_FALSE(if_range_allows("W/" + kEtag, kEtag, kMtime));
    EXPECT_FALSE(if_range_allows("\"old\"", kEtag, kMtime));
    EXPECT_TRUE(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", kEtag, kMtime));
    EXPECT_FALSE(if_range_allows("Sun, 06 Nov 1994 08:49:38 GMT", kEtag, kMtime));
    EXPECT_FALSE(if_range_allows("not a date", kEtag, kMtime));
}

}  // namespace
}  // namespace minid::http
