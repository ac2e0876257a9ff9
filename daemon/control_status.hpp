// The status snapshot behind `minidctl status` and `minidctl metrics`: the master's view of its
// workers joined with each worker's shared-memory counters, request rates and RSS.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "common/control_protocol.hpp"
#include "common/stats_segment.hpp"
#include "daemon/master.hpp"
#include "daemon/rate_tracker.hpp"

namespace minid {

struct StatusClock {
    uint64_t unix_ms;       // for uptimes (start times are wall clock)
    uint64_t monotonic_ms;  // for heartbeats and rates
};

using RssReader = std::function<std::optional<uint64_t>(pid_t)>;

control::StatusSnapshot build_status(const Master::Info& info, const StatsSegment& stats,
                                     const RateTracker& rates, StatusClock now,
                                     const RssReader& rss);

// Resident set size from /proc/PID/statm; nullopt if the process is gone.
std::optional<uint64_t> read_rss_bytes(pid_t pid);

}  // namespace minid
