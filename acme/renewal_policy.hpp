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

// Seconds to wait after the `attempts`-th failure in a row: about 1 min, 10 min, 100 min, then
// 6 to 24 h; never sooner than the CA's Retry-After.
int64_t backoff_seconds(unsigned attempts, int64_t retry_after_s, double random01);

// At most kMaxFailedValidationsPerHour failed validations per name per hour (Let's Encrypt's
// limit is 5): drops entries older than an hour from `failures` and returns how long to wait
// before another validation may be tried (0 = now).
inline constexpr unsigned kMaxFailedValidationsPerHour = 5;
int64_t validation_wait_seconds(std::vector<int64_t>& failures, int64_t now_s);

}  // namespace minid::acme
