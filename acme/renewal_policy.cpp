// Renewal times and backoff; see renewal_policy.hpp.
#include "acme/renewal_policy.hpp"

#include <algorithm>

namespace minid::acme {

int64_t renewal_time(int64_t not_before, int64_t not_after, double random01) {
    const int64_t lifetime = std::max<int64_t>(not_after - not_before, 0);
    const bool short_lived = lifetime <= 10 * 86'400;
    const int64_t at = not_before + (short_lived ? lifetime / 2 : lifetime * 2 / 3);
    const auto jitter = static_cast<int64_t>(static_cast<double>(lifetime) * 0.05 * random01);
    return at - jitter;
}

int64_t ari_renewal_time(int64_t window_start, int64_t window_end, int64_t now_s, double random01) {
    if (window_end <= now_s) return now_s;
    const int64_t start = std::max(window_start, now_s);
    return start + static_cast<int64_t>(static_cast<double>(window_end - start) * random01);
}

int64_t ari_poll_seconds(bool answered, int64_t retry_after_s) {
    if (retry_after_s <= 0) return answered ? kAriDefaultPollSeconds : kAriErrorPollSeconds;
    return std::clamp<int64_t>(retry_after_s, 60, 86'400);
}

int64_t backoff_seconds(unsigned attempts, int64_t retry_after_s, double random01) {
    int64_t delay;
    switch (attempts) {
        case 0:
        case 1:
            delay = 60;
            break;
        case 2:
            delay = 600;
            break;
        case 3:
            delay = 6000;
            break;
        default:
            delay = 6 * 3600 + static_cast<int64_t>(18 * 3600 * random01);
    }
    return std::max(delay, retry_after_s);
}

int64_t validation_wait_seconds(std::vector<int64_t>& failures, int64_t now_s) {
    std::erase_if(failures, [now_s](int64_t t) { return t <= now_s - 3600; });
    std::sort(failures.begin(), failures.end());
    if (failures.size() < kMaxFailedValidationsPerHour) return 0;
    // The oldest of the last five must age out of the hour.
    return failures[failures.size() - kMaxFailedValidationsPerHour] + 3600 - now_s;
}

}  // namespace minid::acme
