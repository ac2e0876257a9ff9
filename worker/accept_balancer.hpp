// AcceptBalancer: evens out connections across workers that share one listening socket. The
// kernel wakes every worker for a new connection and the first one awake takes it, which piles
// most connections onto one process; a worker with clearly more connections than its least
// loaded live sibling lets that sibling take the next one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/stats_segment.hpp"

namespace minid {

class AcceptBalancer {
  public:
    // `slots` is the whole stats segment (`count` slots); `mine` is this worker's slot.
    AcceptBalancer(const WorkerSlot* slots, size_t count, size_t mine);

    // Re-finds the siblings: serving workers of this generation whose loop turned recently.
    // Called a few times a second, so a sibling that hangs or exits stops being deferred to.
    void refresh(uint64_t now_monotonic_ms);

    // True when this worker should leave the next connection to a sibling.
    bool should_defer(uint64_t my_active) const;

    size_t sibling_count() const { return siblings_.size(); }

    // A sibling whose heartbeat is older than this is not trusted to accept.
    static constexpr uint64_t kFreshMs = 2500;

  private:
    const WorkerSlot* slots_;
    size_t count_;
    size_t mine_;
    std::vector<size_t> siblings_;
};

}  // namespace minid
