// The renewal schedule: 2/3 of the lifetime (1/2 when short), jitter only earlier, ARI windows,
// the backoff steps with Retry-After, and the five-failed-validations-per-hour budget.
#include "acme/renewal_policy.hpp"

#include <gtest/gtest.h>

namespace minid::acme {
namespace {

TEST(RenewalPolicy, TwoThirdsOfTheLifetimeOrHalfWhenShort) {
    const int64_t day = 86'400;
    EXPECT_EQ(renewal_time(0, 90 * day, 0.0), 60 * day);
    EXPECT_EQ(renewal_time(0, 6 * day, 0.0), 3 * day);
    EXPECT_EQ(renewal_time(1000, 1120, 0.0), 1060);  // pebble's 120 s certificates: at 60 s
    // Jitter moves it earlier, by at most 5% of the lifetime.
    EXPECT_LT(renewal_time(0, 90 * day, 0.99), 60 * day);
    EXPECT_GE(renewal_time(0, 90 * day, 0.99), 60 * day - 90 * day / 20);
}

TEST(RenewalPolicy, AriWindowChoice) {
    EXPECT_EQ(ari_renewal_time(100, 200, 0, 0.0), 100);
    EXPECT_EQ(ari_renewal_time(100, 200, 0, 0.5), 150);
    EXPECT_EQ(ari_renewal_time(100, 200, 150, 0.0), 150);  // already open: from now
    EXPECT_EQ(ari_renewal_time(100, 200, 300, 0.5), 300);  // passed: now
}

TEST(RenewalPolicy, AriPollIntervalFollowsRetryAfterWithinAMinuteAndADay) {
    EXPECT_EQ(ari_poll_seconds(true, 0), 6 * 3600);
    EXPECT_EQ(ari_poll_seconds(false, 0), 3600);
    EXPECT_EQ(ari_poll_seconds(true, 7200), 7200);
    EXPECT_EQ(ari_poll_seconds(false, 900), 900);
    EXPECT_EQ(ari_poll_seconds(true, 1), 60);
    EXPECT_EQ(ari_poll_seconds(true, 30 * 86'400), 86'400);
}

TEST(RenewalPolicy, BackoffStepsAndRetryAfter) {
    EXPECT_EQ(backoff_seconds(1, 0, 0.5), 60);
    EXPECT_EQ(backoff_seconds(2, 0, 0.5), 600);
    EXPECT_EQ(backoff_seconds(3, 0, 0.5), 6000);
    EXPECT_EQ(backoff_seconds(4, 0, 0.0), 6 * 3600);
    EXPECT_EQ(backoff_seconds(9, 0, 0.999999), 24 * 3600 - 1);
    EXPECT_EQ(backoff_seconds(1, 3600, 0.5), 3600);  // the CA's Retry-After wins
}

TEST(RenewalPolicy, FiveFailedValidationsPerHour) {
    std::vector<int64_t> f = {10, 20, 30, 40};
    EXPECT_EQ(validation_wait_seconds(f, 100), 0);
    f.push_back(50);
    EXPECT_EQ(validation_wait_seconds(f, 100), 10 + 3600 - 100);
    EXPECT_EQ(validation_wait_seconds(f, 3611), 0);  // the first aged out
    EXPECT_EQ(f.size(), 4u);
}

}  // namespace
}  // namespace minid::acme
