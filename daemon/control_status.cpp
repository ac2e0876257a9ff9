// Status snapshot assembly; reads only shared memory and /proc, never asks a worker.
#include "daemon/control_status.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "common/build_info.hpp"
#include "common/unique_fd.hpp"

namespace minid {

namespace {

// Each upstream's counters summed over the serving generation's workers (the ones that run
// the config the names come from).
void add_upstreams(control::StatusSnapshot& s, const Master::Info& info,
                   const StatsSegment& stats) {
    constexpr auto r = std::memory_order_relaxed;
    const size_t n = std::min(info.upstreams.size(), StatsSegment::kMaxUpstreams);
    for (size_t i = 0; i < n; ++i) {
        control::UpstreamStatus u;
        u.name = info.upstreams[i];
        for (const Master::WorkerView& v : info.workers) {
            if (v.generation != info.generation || v.slot < 0 ||
                static_cast<size_t>(v.slot) >= StatsSegment::kSlots)
                continue;
            const UpstreamSlot& c = stats.upstreams(static_cast<size_t>(v.slot))[i];
            u.requests += c.requests.load(r);
            u.retries += c.retries.load(r);
            u.connect_errors += c.connect_errors.load(r);
            u.timeouts += c.timeouts.load(r);
            u.bad_responses += c.bad_responses.load(r);
            u.queue_full += c.queue_full.load(r);
            u.open += c.open.load(r);
            u.idle += c.idle.load(r);
        }
        s.upstreams.push_back(std::move(u));
    }
}

}  // namespace

control::StatusSnapshot build_status(const Master::Info& info, const StatsSegment& stats,
                                     const RateTracker& rates, StatusClock now,
                                     const RssReader& rss) {
    control::StatusSnapshot s;
    control::MasterStatus& m = s.master;
    m.pid = info.pid;
    m.version = build::version;
    m.uptime_s =
        now.unix_ms > info.started_unix_ms ? (now.unix_ms - info.started_unix_ms) / 1000 : 0;
    m.generation = info.generation;
    m.config_file = info.config_file;
    m.listeners = info.listeners;
    m.socket_activated = info.socket_activated;
    m.reloading = info.reloading;
    m.stopping = info.stopping;
    m.target_workers = info.target_workers;
    m.reloads_ok = info.reloads_ok;
    m.reloads_failed = info.reloads_failed;
    if (!info.last_reload_error.empty()) m.last_reload_error = info.last_reload_error;

    for (const Master::WorkerView& v : info.workers) {
        control::WorkerStatus w;
        w.pid = v.pid;
        w.slot = v.slot;
        w.generation = v.generation;
        w.state = worker_state_name(v.state);
        w.uptime_s = now.unix_ms > v.spawned_unix_ms ? (now.unix_ms - v.spawned_unix_ms) / 1000 : 0;
        if (v.slot >= 0 && static_cast<size_t>(v.slot) < StatsSegment::kSlots) {
            const WorkerSlot& slot = stats.slot(static_cast<size_t>(v.slot));
            constexpr auto r = std::memory_order_relaxed;
            add_slot_counters(w, slot);
            w.connections_active = slot.connections_active.load(r);
            const uint64_t beat = slot.heartbeat_ms.load(r);
            if (beat) w.heartbeat_age_ms = now.monotonic_ms > beat ? now.monotonic_ms - beat : 0;
        }
        w.rps = rates.rate(v.pid, w.requests, now.monotonic_ms);
        if (rss) w.rss_bytes = rss(v.pid);
        s.workers.push_back(std::move(w));
    }
    std::sort(s.workers.begin(), s.workers.end(), [](const auto& a, const auto& b) {
        return a.generation != b.generation ? a.generation < b.generation : a.pid < b.pid;
    });
    s.totals = control::compute_totals(s.workers);
    s.exited = info.exited;
    add_upstreams(s, info, stats);
    if (!info.acme_status.empty()) {
        auto acme = control::Json::parse(info.acme_status, nullptr, false);
        if (acme.is_object()) s.acme = std::move(acme);
    }
    return s;
}

std::optional<uint64_t> read_rss_bytes(pid_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/statm";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    char buf[128];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n <= 0) return std::nullopt;
    buf[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return std::nullopt;
    return static_cast<uint64_t>(resident) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace minid
