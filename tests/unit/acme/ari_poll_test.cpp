// Renewal information over a certificate's life, against the fake CA's renewalInfo endpoint: a
// window the CA moves earlier moves the renewal earlier, the same window again changes nothing,
// a later one never delays it, and the next request follows the answer's Retry-After (clamped),
// about 6 h without one, and an hour (or its Retry-After) after an error.
#include "acme/ari_poll.hpp"

#include <gtest/gtest.h>

#include "tests/unit/acme/fake_ca.hpp"

namespace minid::acme {
namespace {

using testing::certificate_with_aki_pem;
using testing::Fixture;

constexpr int64_t kJan2 = 1893542400;  // 2030-01-02T00:00:00Z, the fake's default window start
constexpr int64_t kJan3 = 1893628800;
constexpr int64_t kFeb1 = 1896134400;  // 2030-02-01T00:00:00Z

struct AriFixture : Fixture {
    AriFixture() {
        ca.with_ari = true;
        EXPECT_TRUE(client.open("").ok());
        now = kJan2 - 10 * 86'400;
    }
    AriCheck check(int64_t next_renewal, double random01 = 0.5) {
        return check_renewal_info(client, pem, next_renewal, ari, now, random01);
    }
    std::string pem = certificate_with_aki_pem(cert_key.get());
    AriState ari;
};

TEST(AriPoll, AnEarlierWindowMovesTheRenewalAndRetryAfterSetsTheNextCheck) {
    AriFixture f;
    const AriCheck c = f.check(kFeb1);
    EXPECT_EQ(c.error, "");
    EXPECT_EQ(c.next_renewal, kJan2 + 43'200);  // the middle of the window (random 0.5)
    EXPECT_EQ(f.ari.window_start, kJan2);
    EXPECT_EQ(f.ari.window_end, kJan3);
    EXPECT_EQ(f.ari.next_check, f.now + 21'600);  // the fake's Retry-After
    EXPECT_EQ(f.ca.ari_requests, 1);
}

TEST(AriPoll, TheSameWindowAgainKeepsTheChosenTime) {
    AriFixture f;
    const int64_t chosen = f.check(kFeb1, 0.9).next_renewal;
    f.now += 21'600;
    // Another random draw would pick another time: the window has not moved, so nothing does.
    EXPECT_EQ(f.check(chosen, 0.0).next_renewal, chosen);
    EXPECT_EQ(f.ca.ari_requests, 2);
}

TEST(AriPoll, APolledWindowMovedEarlierMovesTheRenewalEarlier) {
    AriFixture f;
    int64_t renewal = f.check(kFeb1, 0.0).next_renewal;
    EXPECT_EQ(renewal, kJan2);
    // Days later the CA moves the window earlier (e.g. an incident): renew in it.
    f.now += 2 * 86'400;
    f.ca.ari_start = "2029-12-28T00:00:00Z";  // kJan2 - 5 days
    f.ca.ari_end = "2029-12-29T00:00:00Z";
    renewal = f.check(renewal, 0.0).next_renewal;
    EXPECT_EQ(renewal, kJan2 - 5 * 86'400);
    EXPECT_EQ(f.ari.window_start, kJan2 - 5 * 86'400);
    // A window already over: renew now.
    f.ca.ari_start = "2029-01-01T00:00:00Z";
    f.ca.ari_end = "2029-01-02T00:00:00Z";
    EXPECT_EQ(f.check(renewal).next_renewal, f.now);
}

TEST(AriPoll, ALaterWindowNeverDelaysTheRenewal) {
    AriFixture f;
    const int64_t scheduled = kJan2 - 86'400;
    EXPECT_EQ(f.check(scheduled).next_renewal, scheduled);
    EXPECT_EQ(f.ari.window_start, kJan2);  // remembered all the same
}

TEST(AriPoll, RetryAfterIsClampedAndDefaultsToSixHours) {
    AriFixture f;
    f.ca.ari_retry_after = "";
    f.check(kFeb1);
    EXPECT_EQ(f.ari.next_check, f.now + 6 * 3600);
    f.ca.ari_retry_after = "5";
    f.check(kFeb1);
    EXPECT_EQ(f.ari.next_check, f.now + 60);
    f.ca.ari_retry_after = "999999";
    f.check(kFeb1);
    EXPECT_EQ(f.ari.next_check, f.now + 86'400);
}

TEST(AriPoll, AnErrorKeepsTheScheduleAndRetriesPerRetryAfterOrInAnHour) {
    AriFixture f;
    const int64_t renewal = f.check(kFeb1).next_renewal;
    f.ca.ari_status = 503;
    f.ca.ari_retry_after = "";
    AriCheck c = f.check(renewal);
    EXPECT_NE(c.error.find("ARI is down"), std::string::npos) << c.error;
    EXPECT_EQ(c.next_renewal, renewal);
    EXPECT_EQ(f.ari.next_check, f.now + 3600);
    f.ca.ari_retry_after = "600";
    c = f.check(renewal);
    EXPECT_EQ(f.ari.next_check, f.now + 600);
    f.ca.down = true;  // not even an answer
    c = f.check(renewal);
    EXPECT_NE(c.error.find("connection refused"), std::string::npos) << c.error;
    EXPECT_EQ(f.ari.next_check, f.now + 3600);
    EXPECT_EQ(c.next_renewal, renewal);
}

TEST(AriPoll, ACaWithoutAriIsAskedAgainAtTheDefaultInterval) {
    Fixture f;
    ASSERT_TRUE(f.client.open("").ok());
    AriState ari;
    const std::string pem = certificate_with_aki_pem(f.cert_key.get());
    const AriCheck c = check_renewal_info(f.client, pem, 5000, ari, f.now, 0.5);
    EXPECT_EQ(c.error, "");
    EXPECT_EQ(c.next_renewal, 5000);
    EXPECT_EQ(ari.next_check, f.now + 6 * 3600);
    EXPECT_EQ(f.ca.ari_requests, 0);
}

}  // namespace
}  // namespace minid::acme
