// StatsSegment: shared memory with one cache-line-aligned slot per worker. Workers write their
// counters with relaxed atomics; the master reads them for minidctl, STATUS= and hang detection
// without asking any worker.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/result.hpp"
#include "common/tls_handshake_stats.hpp"
#include "common/unique_fd.hpp"

namespace minid {

enum class WorkerState : uint64_t { free = 0, starting = 1, serving = 2, draining = 3 };
const char* worker_state_name(WorkerState state);

struct alignas(64) WorkerSlot {
    std::atomic<uint64_t> pid;
    std::atomic<uint64_t> generation;
    std::atomic<uint64_t> state;            // WorkerState
    std::atomic<uint64_t> started_unix_ms;  // wall clock, for display
    std::atomic<uint64_t> heartbeat_ms;     // CLOCK_MONOTONIC ms, bumped by the worker's loop
    std::atomic<uint64_t> requests;
    std::atomic<uint64_t> connections_active;
    std::atomic<uint64_t> connections_total;
    std::atomic<uint64_t> bytes_in;
    std::atomic<uint64_t> bytes_out;
    std::atomic<uint64_t> status_class[5];  // 1xx..5xx responses
    std::atomic<uint64_t> reserved;
    // TLS handshakes: completed in full, completed by resuming a session (a ticket), and failed
    // by kind (TlsFailure).
    std::atomic<uint64_t> tls_handshakes;
    std::atomic<uint64_t> tls_resumed;
    std::atomic<uint64_t> tls_failures[kTlsFailureKinds];
    std::atomic<uint64_t> reserved2[7];
};
static_assert(sizeof(WorkerSlot) == 256);

// One worker's counters for one [upstream] (the reverse proxy), copied from the worker's pool
// about once a second. Upstreams are numbered in config order.
struct alignas(64) UpstreamSlot {
    std::atomic<uint64_t> requests;        // answered by the upstream (any status)
    std::atomic<uint64_t> retries;         // tries after the first
    std::atomic<uint64_t> connect_errors;  // refused, missing socket, full backlog, timeout
    std::atomic<uint64_t> timeouts;        // 504s
    std::atomic<uint64_t> bad_responses;   // 502s for a broken or cut response
    std::atomic<uint64_t> queue_full;      // 503s at max_connections
    std::atomic<uint64_t> open;            // connections open now (idle included)
    std::atomic<uint64_t> idle;            // of those, idle in the pool
};
static_assert(sizeof(UpstreamSlot) == 64);

class StatsSegment {
  public:
    // Slots for every worker that can be alive at once (current generation plus draining ones).
    static constexpr size_t kSlots = 512;
    // Bumped when WorkerSlot changes shape (part of the worker protocol too).
    static constexpr uint64_t kLayoutVersion = 2;
    // Upstreams with counters per worker (the first ones in config order); after the worker
    // slots, so an older worker still reads its part of the segment.
    static constexpr size_t kMaxUpstreams = 16;

    // Master: creates an anonymous memfd-backed segment (passed to workers by fd).
    static Result<StatsSegment> create();
    // Worker (or a test): maps a segment from an inherited fd.
    static Result<StatsSegment> attach(int fd);

    StatsSegment(StatsSegment&& other) noexcept;
    StatsSegment& operator=(StatsSegment&& other) noexcept;
    StatsSegment(const StatsSegment&) = delete;
    StatsSegment& operator=(const StatsSegment&) = delete;
    ~StatsSegment();

    int fd() const { return fd_.get(); }
    WorkerSlot& slot(size_t index) { return slots_[index]; }
    const WorkerSlot& slot(size_t index) const { return slots_[index]; }
    // The kMaxUpstreams upstream slots of worker slot `index`.
    UpstreamSlot* upstreams(size_t index);
    const UpstreamSlot* upstreams(size_t index) const;

    // Master: a zeroed slot for a new worker, or -1 when all are taken.
    int claim_slot();
    // Master: zero a slot after its worker has exited (so stale counters never show).
    void release_slot(size_t index);

  private:
    StatsSegment(UniqueFd fd, WorkerSlot* slots) : fd_(std::move(fd)), slots_(slots) {}

    UniqueFd fd_;
    WorkerSlot* slots_ = nullptr;
};

uint64_t monotonic_ms();
uint64_t unix_ms();

}  // namespace minid
