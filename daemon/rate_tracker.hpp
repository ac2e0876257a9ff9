// RateTracker: requests per second per worker over the last few seconds, from periodic samples
// of each worker's cumulative request counter (a ring of samples per pid).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <unordered_map>

namespace minid {

class RateTracker {
  public:
    static constexpr uint64_t kDefaultWindowMs = 5000;

    explicit RateTracker(uint64_t window_ms = kDefaultWindowMs) : window_ms_(window_ms) {}

    // Records `requests` (the worker's counter) at `now_ms` (a monotonic clock).
    void sample(pid_t pid, uint64_t requests, uint64_t now_ms);
    // Drops pids not sampled since `cutoff_ms` (workers that exited).
    void forget_older_than(uint64_t cutoff_ms);
    // Requests per second between the oldest sample inside the window and `requests_now`;
    // 0 until a sample at least 100 ms old exists.
    double rate(pid_t pid, uint64_t requests_now, uint64_t now_ms) const;
    size_t tracked() const { return rings_.size(); }

  private:
    struct Sample {
        uint64_t at_ms = 0;
        uint64_t requests = 0;
    };
    // One sample a second for a 5 s window needs 6; spare room covers a late timer.
    static constexpr size_t kRing = 8;
    struct Ring {
        std::array<Sample, kRing> samples{};
        size_t next = 0;   // where the next sample goes
        size_t count = 0;  // valid samples (<= kRing)
        uint64_t last_ms = 0;
    };

    uint64_t window_ms_;
    std::unordered_map<pid_t, Ring> rings_;
};

}  // namespace minid
