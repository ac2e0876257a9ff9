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

class StatsSegment {
  public:
    // Slots for every worker that can be alive at once (current generation plus draining ones).
    static constexpr size_t kSlots = 512;
    // Bumped when WorkerSlot changes shape (part of the worker protocol too).
    static constexpr uint64_t kLayoutVersion = 2;

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
