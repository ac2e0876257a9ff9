// Tests for Range evaluation.
#include "worker/http/range.hpp"

#include <gtest/gtest.h>

namespace minid::http {
namespace {

using Kind = RangeDecision::Kind;

void expect_partial(std::string_view h, uint64_t size, uint64_t first, uint64_t last) {
    const RangeDecision d = decide_range(h, size);
    EXPECT_EQ(d.kind, Kind::partial) << h;
    EXPECT_EQ(d.first, first) << h;
    EXPECT_EQ(d.last, last) << h;
}

TEST(Range, SingleRanges) {
    expect_partial("bytes=0-0", 10, 0, 0);
    expect_partial("bytes=2-5", 10, 2, 5);
    expect_partial("bytes=2-", 10, 2, 9);
    expect_partial("bytes=-3", 10, 7, 9);
    expect_partial("bytes=-30", 10, 0, 9);
    expect_partial("bytes=5-100", 10, 5, 9);
    expect_partial("bytes=9-99999999999999999999999", 10, 9, 9);
    expect_partial("Bytes=1-2", 10, 1, 2);
    expect_partial(" bytes=1-2 ", 10, 1, 2);
    expect_partial("bytes= 1-2 ,", 10, 1, 2);
}

TEST(Range, Unsatisfiable) {
    for (const char* h : {"bytes=10-", "bytes=10-20", "bytes=-0", "bytes=99999999999999999999-"}) {
        EXPECT_EQ(decide_range(h, 10).kind, Kind::unsatisfiable) << h;
    }
    EXPECT_EQ(decide_range("bytes=0-", 0).kind, Kind::unsatisfiable);
    EXPECT_EQ(decide_range("bytes=-5", 0).kind, Kind::unsatisfiable);
}

TEST(Range, IgnoredMeansFull) {
    for (const char* h : {"", "bytes", "bytes=", "bytes=a-b", "bytes=5-2", "bytes=1-2,4-5",
                          "bytes=0-0,-1", "items=1-2", "bytes=1", "bytes=--1", "bytes=1-2-3",
                          "bytes=+1-2", "bytes=1 -2", "bytes =1-2"}) {
        EXPECT_EQ(decide_range(h, 10).kind, Kind::full) << h;
    }
}

}  // namespace
}  // namespace minid::http
