// Tests for HTTP date formatting/parsing and the per-second cache.
#include "worker/http/http_date.hpp"

#include <gtest/gtest.h>

#include <string>

namespace minid::http {
namespace {

std::string fmt(std::time_t t) {
    char buf[kHttpDateLength];
    format_http_date(t, buf);
    return std::string(buf, kHttpDateLength);
}

TEST(HttpDate, FormatsImfFixdate) {
    EXPECT_EQ(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(fmt(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(fmt(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    EXPECT_EQ(fmt(4102444799), "Thu, 31 Dec 2099 23:59:59 GMT");
    EXPECT_EQ(fmt(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(HttpDate, FormatMatchesGmtimeForManyTimes) {
    for (std::time_t t = -86400 * 400; t < 4102444800; t += 7919 * 3607) {
        struct tm tm {};
        gmtime_r(&t, &tm);
        char expect[64];
        strftime(expect, sizeof expect, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        ASSERT_EQ(fmt(t), expect) << t;
        ASSERT_EQ(parse_http_date(expect), t) << expect;
    }
}

TEST(HttpDate, ParsesTheThreeForms) {
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    EXPECT_EQ(parse_http_date("Wed Nov 16 08:49:37 1994"), 784111777 + 10 * 86400);
    EXPECT_EQ(parse_http_date("Friday, 01-Jan-21 00:00:00 GMT"), 1609459200);
}

TEST(HttpDate, RejectsAnythingElse) {
    for (const char* bad :
         {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
          "Sun, 6 Nov 1994 08:49:37 GMT", "sun, 06 Nov 1994 08:49:37 GMT",
          "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
          "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
          "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
          "Sun, 06 Nov 94 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "1994-11-06T08:49:37Z",
          "Sun, 06 Nov 1994 08:49:37 GMTx"}) {
        EXPECT_FALSE(parse_http_date(bad).has_value()) << bad;
    }
}

TEST(HttpDate, CacheReformatsOnlyWhenTheSecondChanges) {
    DateCache c;
    const std::string_view a = c.get(784111777);
    EXPECT_EQ(a, "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(c.get(784111777).data(), a.data());
    EXPECT_EQ(c.get(784111778), "Sun, 06 Nov 1994 08:49:38 GMT");
}

}  // namespace
}  // namespace minid::http
