// StatsSegment implementation: a memfd mapped MAP_SHARED in the master and every worker.
#include "common/stats_segment.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include <cerrno>
#include <new>

#include "common/log.hpp"

namespace minid {
namespace {

constexpr size_t kWorkerBytes = sizeof(WorkerSlot) * StatsSegment::kSlots;
constexpr size_t kBytes =
    kWorkerBytes + sizeof(UpstreamSlot) * StatsSegment::kSlots * StatsSegment::kMaxUpstreams;

Result<WorkerSlot*> map_slots(int fd) {
    void* p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return make_error(sys_error("mmap", "stats segment", errno));
    return static_cast<WorkerSlot*>(p);
}

void zero_slot(WorkerSlot& s) {
    s.pid.store(0, std::memory_order_relaxed);
    s.generation.store(0, std::memory_order_relaxed);
    s.started_unix_ms.store(0, std::memory_order_relaxed);
    s.heartbeat_ms.store(0, std::memory_order_relaxed);
    s.requests.store(0, std::memory_order_relaxed);
    s.connections_active.store(0, std::memory_order_relaxed);
    s.connections_total.store(0, std::memory_order_relaxed);
    s.bytes_in.store(0, std::memory_order_relaxed);
    s.bytes_out.store(0, std::memory_order_relaxed);
    for (auto& c : s.status_class) c.store(0, std::memory_order_relaxed);
    s.reserved.store(0, std::memory_order_relaxed);
    s.tls_handshakes.store(0, std::memory_order_relaxed);
    s.tls_resumed.store(0, std::memory_order_relaxed);
    for (auto& c : s.tls_failures) c.store(0, std::memory_order_relaxed);
    for (auto& c : s.reserved2) c.store(0, std::memory_order_relaxed);
    s.state.store(static_cast<uint64_t>(WorkerState::free), std::memory_order_release);
}

}  // namespace

const char* worker_state_name(WorkerState state) {
    switch (state) {
        case WorkerState::free:
            return "free";
        case WorkerState::starting:
            return "starting";
        case WorkerState::serving:
            return "serving";
        case WorkerState::draining:
            return "draining";
    }
    return "unknown";
}

Result<StatsSegment> StatsSegment::create() {
    UniqueFd fd(::memfd_create("minid-stats", MFD_CLOEXEC));
    if (!fd) return make_error(sys_error("memfd_create", "minid-stats", errno));
    if (::ftruncate(fd.get(), static_cast<off_t>(kBytes)) != 0)
        return make_error(sys_error("ftruncate", "stats segment", errno));
    auto slots = map_slots(fd.get());
    if (!slots) return make_error(slots.error());
    // A fresh memfd is zero-filled, which is exactly WorkerState::free with zero counters.
    return StatsSegment(std::move(fd), *slots);
}

Result<StatsSegment> StatsSegment::attach(int raw_fd) {
    UniqueFd fd(raw_fd);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error(sys_error("fstat", "stats segment", errno));
    if (static_cast<size_t>(st.st_size) < kBytes)
        return make_error("stats segment is too small: the master runs another minid version");
    auto slots = map_slots(fd.get());
    if (!slots) return make_error(slots.error());
    return StatsSegment(std::move(fd), *slots);
}

StatsSegment::StatsSegment(StatsSegment&& other) noexcept
    : fd_(std::move(other.fd_)), slots_(std::exchange(other.slots_, nullptr)) {}

StatsSegment& StatsSegment::operator=(StatsSegment&& other) noexcept {
    if (this != &other) {
        if (slots_) ::munmap(slots_, kBytes);
        fd_ = std::move(other.fd_);
        slots_ = std::exchange(other.slots_, nullptr);
    }
    return *this;
}

StatsSegment::~StatsSegment() {
    if (slots_) ::munmap(slots_, kBytes);
}

int StatsSegment::claim_slot() {
    for (size_t i = 0; i < kSlots; ++i) {
        if (slots_[i].state.load(std::memory_order_acquire) ==
                static_cast<uint64_t>(WorkerState::free) &&
            slots_[i].pid.load(std::memory_order_relaxed) == 0) {
            zero_slot(slots_[i]);
            slots_[i].state.store(static_cast<uint64_t>(WorkerState::starting),
                                  std::memory_order_release);
            return static_cast<int>(i);
        }
    }
    return -1;
}

void StatsSegment::release_slot(size_t index) {
    for (size_t u = 0; u < kMaxUpstreams; ++u) {
        UpstreamSlot& s = upstreams(index)[u];
        for (std::atomic<uint64_t>* c : {&s.requests, &s.retries, &s.connect_errors, &s.timeouts,
                                         &s.bad_responses, &s.queue_full, &s.open, &s.idle})
            c->store(0, std::memory_order_relaxed);
    }
    zero_slot(slots_[index]);
}

UpstreamSlot* StatsSegment::upstreams(size_t index) {
    auto* base = reinterpret_cast<UpstreamSlot*>(reinterpret_cast<char*>(slots_) + kWorkerBytes);
    return base + index * kMaxUpstreams;
}

const UpstreamSlot* StatsSegment::upstreams(size_t index) const {
    return const_cast<StatsSegment*>(this)->upstreams(index);
}

uint64_t monotonic_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

uint64_t unix_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

}  // namespace minid
