// AcceptBalancer implementation: reads siblings' live connection counts from the stats segment
// (relaxed loads of memory the master shares with every worker; no messages between workers).
#include "worker/accept_balancer.hpp"

#include <algorithm>

namespace minid {

AcceptBalancer::AcceptBalancer(const WorkerSlot* slots, size_t count, size_t mine)
    : slots_(slots), count_(count), mine_(mine) {}

void AcceptBalancer::refresh(uint64_t now_ms) {
    siblings_.clear();
    if (!slots_ || mine_ >= count_) return;
    const uint64_t generation = slots_[mine_].generation.load(std::memory_order_relaxed);
    for (size_t i = 0; i < count_; ++i) {
        if (i == mine_) continue;
        const WorkerSlot& s = slots_[i];
        if (s.state.load(std::memory_order_acquire) != static_cast<uint64_t>(WorkerState::serving))
            continue;
        if (s.generation.load(std::memory_order_relaxed) != generation) continue;
        const uint64_t beat = s.heartbeat_ms.load(std::memory_order_relaxed);
        if (beat + kFreshMs < now_ms) continue;
        siblings_.push_back(i);
    }
}

bool AcceptBalancer::should_defer(uint64_t my_active) const {
    if (siblings_.empty()) return false;
    uint64_t least = UINT64_MAX;
    for (size_t i : siblings_)
        least = std::min(least, slots_[i].connections_active.load(std::memory_order_relaxed));
    // Some slack, growing with load, so workers do not bounce every connection back and forth.
    const uint64_t slack = std::max<uint64_t>(2, my_active / 16);
    return my_active > least + slack;
}

}  // namespace minid
