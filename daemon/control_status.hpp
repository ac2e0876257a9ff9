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

// Adds a worker's cumulative counters (requests, connections, bytes, responses by class) from
// its stats slot to `into`: a WorkerStatus, or the master's record of exited workers.
inline void add_slot_counters(control::Counters& into, const WorkerSlot& slot) {
    constexpr auto r = std::memory_order_relaxed;
    into.requests += slot.requests.load(r);
    into.connections_total += slot.connections_total.load(r);
    into.bytes_in += slot.bytes_in.load(r);
    into.bytes_out += slot.bytes_out.load(r);
    for (int i = 0; i < 5; ++i) into.status_class[i] += slot.status_class[i].load(r);
    into.tls_handshakes += slot.tls_handshakes.load(r);
    into.tls_resumed += slot.tls_resumed.load(r);
    for (size_t i = 0; i < kTlsFailureKinds; ++i)
        into.tls_failures[i] += slot.tls_failures[i].load(r);
}

control::StatusSnapshot build_status(const Master::Info& info, const StatsSegment& stats,
                                     const RateTracker& rates, StatusClock now,
                                     const RssReader& rss);

// Resident set size from /proc/PID/statm; nullopt if the process is gone.
std::optional<uint64_t> read_rss_bytes(pid_t pid);

}  // namespace minid
