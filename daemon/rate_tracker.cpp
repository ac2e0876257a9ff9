// RateTracker implementation.
#include "daemon/rate_tracker.hpp"

namespace minid {

void RateTracker::sample(pid_t pid, uint64_t requests, uint64_t now_ms) {
    Ring& r = rings_[pid];
    r.samples[r.next] = {now_ms, requests};
    r.next = (r.next + 1) % kRing;
    if (r.count < kRing) ++r.count;
    r.last_ms = now_ms;
}

void RateTracker::forget_older_than(uint64_t cutoff_ms) {
    std::erase_if(rings_, [cutoff_ms](const auto& kv) { return kv.second.last_ms < cutoff_ms; });
}

double RateTracker::rate(pid_t pid, uint64_t requests_now, uint64_t now_ms) const {
    // Shorter spans than this make a single burst look like a huge rate.
    constexpr uint64_t kMinSpanMs = 100;
    auto it = rings_.find(pid);
    if (it == rings_.end()) return 0;
    const Ring& r = it->second;
    const Sample* oldest = nullptr;
    for (size_t i = 0; i < r.count; ++i) {
        const Sample& s = r.samples[(r.next + kRing - r.count + i) % kRing];  // oldest first
        if (s.at_ms > now_ms || now_ms - s.at_ms > window_ms_) continue;
        oldest = &s;
        break;
    }
    if (!oldest || now_ms - oldest->at_ms < kMinSpanMs || requests_now < oldest->requests) return 0;
    return static_cast<double>(requests_now - oldest->requests) * 1000.0 /
           static_cast<double>(now_ms - oldest->at_ms);
}

}  // namespace minid
