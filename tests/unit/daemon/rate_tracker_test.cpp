// Tests for RateTracker: per-pid rates over the sampling window.
#include "daemon/rate_tracker.hpp"

#include <gtest/gtest.h>

namespace minid {
namespace {

TEST(RateTracker, UnknownPidHasNoRate) {
    RateTracker t;
    EXPECT_EQ(t.rate(42, 1000, 5000), 0.0);
}

TEST(RateTracker, SteadyLoadGivesItsRate) {
    RateTracker t(5000);
    // 200 requests per second, sampled every second.
    for (uint64_t s = 0; s <= 10; ++s) t.sample(7, s * 200, s * 1000);
    EXPECT_NEAR(t.rate(7, 10 * 200 + 100, 10'500), 200.0, 0.01);
}

TEST(RateTracker, UsesOnlyTheWindow) {
    RateTracker t(5000);
    // A burst long ago, then idle: the rate over the last 5 s is 0.
    t.sample(7, 0, 0);
    t.sample(7, 10'000, 1000);
    for (uint64_t s = 2; s <= 12; ++s) t.sample(7, 10'000, s * 1000);
    EXPECT_EQ(t.rate(7, 10'000, 12'000), 0.0);
}

TEST(RateTracker, ShortHistoryUsesWhatThereIs) {
    RateTracker t;
    t.sample(7, 100, 1000);
    EXPECT_EQ(t.rate(7, 100, 1050), 0.0) << "too short a span to say anything";
    EXPECT_NEAR(t.rate(7, 150, 1500), 100.0, 0.01);
}

TEST(RateTracker, ForgetsWorkersThatStoppedReporting) {
    RateTracker t;
    t.sample(1, 0, 1000);
    t.sample(2, 0, 1000);
    t.sample(2, 0, 3000);
    t.forget_older_than(2000);
    EXPECT_EQ(t.tracked(), 1u);
    EXPECT_EQ(t.rate(1, 100, 3500), 0.0);
}

TEST(RateTracker, CounterGoingBackwardsIsNotANegativeRate) {
    RateTracker t;
    t.sample(1, 500, 1000);
    EXPECT_EQ(t.rate(1, 10, 2000), 0.0);
}

}  // namespace
}  // namespace minid
