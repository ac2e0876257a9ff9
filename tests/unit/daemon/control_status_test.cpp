// Tests for the status snapshot: the master's worker list joined with shared-memory counters,
// rates, RSS and heartbeat ages.
#include "daemon/control_status.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace minid {
namespace {

Master::Info info_with_workers() {
    Master::Info i{};
    i.pid = 100;
    i.started_unix_ms = 1'000'000;
    i.generation = 2;
    i.config_file = "/etc/minid/minid.conf";
    i.listeners = {"127.0.0.1:8080"};
    i.target_workers = 2;
    i.reloads_ok = 1;
    // Master lists workers in pid order; the snapshot orders by generation, then pid.
    i.workers = {{301, 1, 2, WorkerState::serving, 1'050'000},
                 {302, 2, 2, WorkerState::starting, 1'090'000},
                 {205, 0, 1, WorkerState::draining, 1'000'500}};
    return i;
}

void fill(WorkerSlot& s, uint64_t requests, uint64_t beat) {
    s.requests = requests;
    s.connections_active = 2;
    s.connections_total = 10;
    s.bytes_in = 300;
    s.bytes_out = 4000;
    s.status_class[1] = requests;
    s.heartbeat_ms = beat;
}

TEST(ControlStatus, JoinsWorkersWithTheirSlots) {
    auto stats = StatsSegment::create();
    ASSERT_TRUE(stats.ok()) << stats.error();
    fill(stats->slot(0), 50, 9'000);
    fill(stats->slot(1), 70, 9'900);
    fill(stats->slot(2), 0, 0);
    RateTracker rates;
    rates.sample(301, 20, 5'000);
    auto rss = [](pid_t pid) -> std::optional<uint64_t> {
        if (pid == 302) return std::nullopt;
        return uint64_t(pid) * 1000;
    };
    auto s = build_status(info_with_workers(), *stats, rates, {1'100'000, 10'000}, rss);

    EXPECT_EQ(s.master.pid, 100);
    EXPECT_EQ(s.master.uptime_s, 100u);
    EXPECT_EQ(s.master.generation, 2u);
    EXPECT_FALSE(s.master.last_reload_error.has_value());
    ASSERT_EQ(s.workers.size(), 3u);
    EXPECT_EQ(s.workers[0].pid, 205);
    EXPECT_EQ(s.workers[0].state, "draining");
    EXPECT_EQ(s.workers[0].uptime_s, 99u);
    EXPECT_EQ(s.workers[0].requests, 50u);
    EXPECT_EQ(s.workers[0].heartbeat_age_ms, 1000u);
    EXPECT_EQ(s.workers[1].pid, 301);
    EXPECT_EQ(s.workers[1].requests, 70u);
    EXPECT_EQ(s.workers[1].status_class[1], 70u);
    EXPECT_NEAR(s.workers[1].rps, 10.0, 0.01);  // (70 - 20) over 5 s
    EXPECT_EQ(s.workers[1].rss_bytes, 301000u);
    EXPECT_EQ(s.workers[2].pid, 302);
    EXPECT_EQ(s.workers[2].state, "starting");
    EXPECT_FALSE(s.workers[2].heartbeat_age_ms.has_value()) << "no heartbeat yet";
    EXPECT_FALSE(s.workers[2].rss_bytes.has_value());
    EXPECT_EQ(s.totals.requests, 120u);
    EXPECT_EQ(s.totals.workers, 3u);
    EXPECT_EQ(s.totals.bytes_out, 12000u);
    EXPECT_EQ(s.totals.rss_bytes, 205000u + 301000u);
    EXPECT_EQ(s.exited, control::ExitedTotals{}) << "no worker has exited";
}

TEST(ControlStatus, SumsEachUpstreamOverTheServingGeneration) {
    auto stats = StatsSegment::create();
    ASSERT_TRUE(stats.ok()) << stats.error();
    Master::Info info = info_with_workers();
    info.upstreams = {"app", "api"};
    // Slots 1 and 2 belong to generation 2 (serving), slot 0 to the draining generation 1.
    for (size_t slot : {0u, 1u, 2u}) {
        UpstreamSlot* u = stats->upstreams(slot);
        u[0].requests = 10 * (slot + 1);
        u[0].connect_errors = 1;
        u[0].open = 3;
        u[0].idle = 1;
        u[1].timeouts = 2;
    }
    auto s = build_status(info, *stats, RateTracker{}, {1'100'000, 10'000}, nullptr);
    ASSERT_EQ(s.upstreams.size(), 2u);
    EXPECT_EQ(s.upstreams[0].name, "app");
    EXPECT_EQ(s.upstreams[0].requests, 20u + 30u) << "generation 1's worker left out";
    EXPECT_EQ(s.upstreams[0].connect_errors, 2u);
    EXPECT_EQ(s.upstreams[0].open, 6u);
    EXPECT_EQ(s.upstreams[0].idle, 2u);
    EXPECT_EQ(s.upstreams[1].name, "api");
    EXPECT_EQ(s.upstreams[1].timeouts, 4u);
    stats->release_slot(1);
    EXPECT_EQ(stats->upstreams(1)[0].requests.load(), 0u) << "a released slot starts at zero";
}

TEST(ControlStatus, CarriesTheCountsOfExitedWorkers) {
    auto stats = StatsSegment::create();
    ASSERT_TRUE(stats.ok()) << stats.error();
    Master::Info info = info_with_workers();
    info.exited.workers = 3;
    info.exited.requests = 4321;
    info.exited.status_class[1] = 4300;
    RateTracker rates;
    auto s = build_status(info, *stats, rates, {1'100'000, 10'000}, nullptr);
    EXPECT_EQ(s.exited, info.exited);
    EXPECT_EQ(s.totals.requests, 0u) << "live totals stay the live workers'";
}

TEST(ControlStatus, ReportsTheLastReloadError) {
    auto stats = StatsSegment::create();
    ASSERT_TRUE(stats.ok());
    Master::Info i = info_with_workers();
    i.last_reload_error = "minid.conf:3: unknown key 'lsten'";
    i.reloads_failed = 1;
    auto s = build_status(i, *stats, RateTracker{}, {2'000'000, 1}, nullptr);
    ASSERT_TRUE(s.master.last_reload_error.has_value());
    EXPECT_EQ(*s.master.last_reload_error, i.last_reload_error);
    EXPECT_EQ(s.master.reloads_failed, 1u);
    EXPECT_FALSE(s.workers[0].rss_bytes.has_value()) << "no reader, no RSS";
}

TEST(ControlStatus, ReadsOwnRss) {
    auto rss = read_rss_bytes(::getpid());
    ASSERT_TRUE(rss.has_value());
    EXPECT_GT(*rss, 100u * 1024u);
    EXPECT_FALSE(read_rss_bytes(0x7ffffff0).has_value());
}

}  // namespace
}  // namespace minid
