// When to renew and when to try again: pure functions of times and a random number, so the
// schedule is unit-tested without a clock. Modelled on certmagic's maintain.go and Let's
// Encrypt's integration guide.
#pragma once

#include <cstdint>
#include <vector>

namespace minid::acme {

// At 2/3 of the lifetime (1/2 for certificates of 10 days or less, which leaves a short-lived
// certificate as much time to retry), moved earlier by up to 5% of the lifetime (`random01` in
// [0, 1)) so that a fleet does not renew in lockstep.
int64_t renewal_time(int64_t not_before, int64_t not_after, double random01);

// Renewal information (RFC 9773): a time chosen uniformly in the CA's window; a window that
// has already begun means now.
int64_t ari_renewal_time(int64_t window_start, int64_t window_end, int64_t now_s, double random01);

// What the CA last said about a certificate's renewal (RFC 9773), and when to ask it again.
struct AriState {
    int64_t window_start = 0;  // the suggested window; 0, 0 = none heard yet
    int64_t window_end = 0;
    int64_t next_check = 0;  // unix time of the next renewalInfo request; 0 = at once
};

// Seconds until the next renewalInfo request (RFC 9773, 4.3): the answer's Retry-After, taken
// as at least a minute and at most a day; about 6 hours when it says nothing. After a failed
// request (the CA down, an error status, a malformed window, no ARI at all) an hour, or the
// error's Retry-After.
inline constexpr int64_t kAriDefaultPollSeconds = 6 * 3600;
inline constexpr int64_t kAriErrorPollSeconds = 3600;
int64_t ari_poll_seconds(bool answered, int64_t retry_after_s);

// Seconds to wait after the `attempts`-th failure in a row: about 1 min, 10 min, 100 min, then
// 6 to 24 h; never sooner than the CA's Retry-After.
int64_t backoff_seconds(unsigned attempts, int64_t retry_after_s, double random01);

// At most kMaxFailedValidationsPerHour failed validations per name per hour (Let's Encrypt's
// limit is 5): drops entries older than an hour from `failures` and returns how long to wait
// before another validation may be tried (0 = now).
inline constexpr unsigned kMaxFailedValidationsPerHour = 5;
int64_t validation_wait_seconds(std::vector<int64_t>& failures, int64_t now_s);

}  // namespace minid::acme
