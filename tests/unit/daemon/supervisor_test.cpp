// Tests for the supervisor state machine, driven by a fake clock and a fake spawner: start-up,
// crash backoff and its reset, fatal exits, reload coalescing, drain deadlines, hang kills,
// failed generations, the draining limit and stop.
#include "daemon/supervisor.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace minid {
namespace {

int exited(int code) {
    return (code & 0xff) << 8;  // the wait status of _exit(code)
}
int killed(int sig) {
    return sig & 0x7f;  // the wait status of death by `sig`
}

class FakeHost : public SupervisorHost {
  public:
    uint64_t now = 1'000'000;
    pid_t next_pid = 100;
    bool spawn_fails = false;
    struct Spawn {
        pid_t pid;
        uint64_t generation;
    };
    std::vector<Spawn> spawns;
    std::vector<std::pair<pid_t, int>> signals;
    std::vector<pid_t> pings;
    std::vector<uint64_t> respawn_delays;
    std::vector<uint64_t> gone;
    std::vector<std::string> ready, reloading, stopping;
    int loads = 0;
    std::optional<Result<Config>> next_config;  // empty: a copy of `config`
    Config config;
    bool stopped_called = false;

    uint64_t now_ms() override { return now; }
    Result<pid_t> spawn(uint64_t generation, const Config&, unsigned) override {
        if (spawn_fails) return make_error("fork: Resource temporarily unavailable");
        spawns.push_back({next_pid, generation});
        return next_pid++;
    }
    void signal(pid_t pid, int signum) override { signals.emplace_back(pid, signum); }
    void ping(pid_t pid) override { pings.push_back(pid); }
    Result<Config> load_reload_config() override {
        ++loads;
        if (next_config) return *next_config;
        return config;
    }
    void arm_respawn_timer(uint64_t delay_ms) override { respawn_delays.push_back(delay_ms); }
    void serving_config_changed(const Config&) override {}
    void generation_gone(uint64_t g) override { gone.push_back(g); }
    void notify_ready(const std::string& s) override { ready.push_back(s); }
    void notify_reloading(const std::string& s) override { reloading.push_back(s); }
    void notify_stopping(const std::string& s) override { stopping.push_back(s); }
    void notify_extend_timeout(uint64_t) override {}
    std::string status_line() override { return "ok"; }
    void status_changed() override {}
    void stopped() override { stopped_called = true; }

    std::vector<pid_t> pids_of(uint64_t generation) const {
        std::vector<pid_t> v;
        for (const auto& s : spawns)
            if (s.generation == generation) v.push_back(s.pid);
        return v;
    }
    int count_signals(pid_t pid, int sig) const {
        int n = 0;
        for (const auto& [p, s] : signals)
            if (p == pid && s == sig) ++n;
        return n;
    }
};

struct Fixture {
    FakeHost host;
    std::optional<Supervisor> sup;
    explicit Fixture(unsigned workers, Config base = Config{}) {
        base.workers = workers;
        host.config = base;
        sup.emplace(host, base);
    }
    // Starts generation 1 and makes every worker ready.
    void serve() {
        ASSERT_TRUE(sup->start().ok());
        for (pid_t p : host.pids_of(1)) sup->worker_ready(p);
        ASSERT_EQ(sup->state(), Supervisor::State::serving);
    }
    void ready_all(uint64_t generation) {
        for (pid_t p : host.pids_of(generation)) sup->worker_ready(p);
    }
};

TEST(Supervisor, StartsGenerationOneAndServesWhenEveryWorkerIsReady) {
    Fixture f(2);
    EXPECT_EQ(f.sup->state(), Supervisor::State::idle);
    ASSERT_TRUE(f.sup->start().ok());
    EXPECT_EQ(f.sup->state(), Supervisor::State::starting);
    ASSERT_EQ(f.host.pids_of(1).size(), 2u);
    f.sup->worker_ready(f.host.pids_of(1)[0]);
    EXPECT_EQ(f.sup->state(), Supervisor::State::starting) << "one of two is not enough";
    EXPECT_TRUE(f.host.ready.empty());
    f.sup->worker_ready(f.host.pids_of(1)[1]);
    EXPECT_EQ(f.sup->state(), Supervisor::State::serving);
    EXPECT_EQ(f.sup->serving_generation(), 1u);
    EXPECT_EQ(f.host.ready.size(), 1u);
    EXPECT_EQ(f.sup->serving_workers(), 2u);
}

TEST(Supervisor, CrashBackoffDoublesFromTwoHundredMsToThirtySecondsAndResets) {
    Fixture f(1);
    f.serve();
    std::vector<uint64_t> expected = {0,    200,   400,   800,   1600, 3200,
                                      6400, 12800, 25600, 30000, 30000};
    for (size_t i = 0; i < expected.size(); ++i) {
        const pid_t victim = f.host.spawns.back().pid;
        f.host.now += 50;  // dies young
        f.sup->worker_exited(victim, killed(SIGSEGV));
        ASSERT_EQ(f.host.respawn_delays.size(), i + 1);
        EXPECT_EQ(f.host.respawn_delays.back(), expected[i]) << "crash " << i + 1;
        const size_t before = f.host.spawns.size();
        f.host.now += f.host.respawn_delays.back();
        f.sup->respawn_due();
        ASSERT_EQ(f.host.spawns.size(), before + 1) << "the crashed worker is replaced";
        EXPECT_EQ(f.host.spawns.back().generation, 1u);
    }
    EXPECT_EQ(f.sup->consecutive_crashes(), expected.size());

    // A worker that lived longer than the crash window starts the count again.
    f.host.now += Supervisor::kCrashWindowMs;
    f.sup->worker_exited(f.host.spawns.back().pid, killed(SIGSEGV));
    EXPECT_EQ(f.host.respawn_delays.back(), 0u);
    EXPECT_EQ(f.sup->consecutive_crashes(), 1u);
}

TEST(Supervisor, AnotherCrashWhileARespawnIsPendingDoesNotArmTheTimerAgain) {
    Fixture f(2);
    f.serve();
    const auto pids = f.host.pids_of(1);
    f.sup->worker_exited(pids[0], killed(SIGSEGV));
    f.sup->worker_exited(pids[1], killed(SIGSEGV));
    EXPECT_EQ(f.host.respawn_delays.size(), 1u);
    f.sup->respawn_due();
    EXPECT_EQ(f.host.pids_of(1).size(), 4u) << "one respawn replaces both";
}

TEST(Supervisor, FatalExitCodesAreNotRespawned) {
    Fixture f(2);
    f.serve();
    const auto pids = f.host.pids_of(1);
    f.sup->worker_exited(pids[0], exited(2));
    EXPECT_TRUE(f.host.respawn_delays.empty());
    EXPECT_EQ(f.host.spawns.size(), 2u);
    EXPECT_EQ(f.sup->state(), Supervisor::State::serving) << "one worker still serves";
    // The last one of the serving generation: nothing left to serve with, so minid exits.
    f.sup->worker_exited(pids[1], exited(3));
    EXPECT_TRUE(f.host.respawn_delays.empty());
    EXPECT_EQ(f.sup->state(), Supervisor::State::stopped);
    EXPECT_EQ(f.sup->exit_code(), 1);
    EXPECT_TRUE(f.host.stopped_called);
}

TEST(Supervisor, ReloadDrainsTheOldGenerationOnceTheNewOneIsReady) {
    Fixture f(2);
    f.serve();
    std::optional<Status> result;
    f.sup->reload([&](const Status& st) { result = st; });
    EXPECT_EQ(f.sup->state(), Supervisor::State::reloading);
    EXPECT_EQ(f.host.reloading.size(), 1u);
    ASSERT_EQ(f.host.pids_of(2).size(), 2u);
    EXPECT_TRUE(f.host.signals.empty()) << "the old generation serves until the new one is up";
    f.ready_all(2);
    ASSERT_TRUE(result && result->ok());
    EXPECT_EQ(f.sup->serving_generation(), 2u);
    for (pid_t p : f.host.pids_of(1)) EXPECT_EQ(f.host.count_signals(p, SIGTERM), 1);
    for (pid_t p : f.host.pids_of(1)) f.sup->worker_exited(p, exited(0));
    EXPECT_EQ(f.host.gone, std::vector<uint64_t>{1});
    EXPECT_TRUE(f.host.respawn_delays.empty()) << "draining workers are not replaced";
    EXPECT_EQ(f.sup->reloads_ok(), 1u);
}

TEST(Supervisor, TwoReloadRequestsDuringAReloadGiveExactlyOneMore) {
    Fixture f(1);
    f.serve();
    int first = 0, second = 0, third = 0;
    f.sup->reload([&](const Status& st) { first += st.ok() ? 1 : 100; });
    EXPECT_EQ(f.host.loads, 1);
    f.sup->reload([&](const Status& st) { second += st.ok() ? 1 : 100; });
    f.sup->reload([&](const Status& st) { third += st.ok() ? 1 : 100; });
    f.sup->reload(nullptr);  // SIGHUP
    EXPECT_EQ(f.host.loads, 1) << "asks during a reload wait for it";
    f.ready_all(2);
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second + third, 0) << "their reload started after their ask, it has not ended";
    EXPECT_EQ(f.host.loads, 2) << "exactly one more reload";
    ASSERT_EQ(f.host.pids_of(3).size(), 1u);
    f.ready_all(3);
    EXPECT_EQ(second, 1);
    EXPECT_EQ(third, 1);
    EXPECT_EQ(f.host.loads, 2);
    EXPECT_TRUE(f.host.pids_of(4).empty());
    EXPECT_EQ(f.sup->state(), Supervisor::State::serving);
    EXPECT_EQ(f.sup->reloads_ok(), 2u);
}

TEST(Supervisor, ReloadWithABadConfigKeepsTheServingGeneration) {
    Fixture f(1);
    f.serve();
    f.host.next_config = Result<Config>(make_error("minid.conf:2: workers: not a number"));
    std::optional<Status> result;
    f.sup->reload([&](const Status& st) { result = st; });
    ASSERT_TRUE(result && !result->ok());
    EXPECT_EQ(result->error(), "minid.conf:2: workers: not a number");
    EXPECT_EQ(f.host.spawns.size(), 1u);
    EXPECT_EQ(f.sup->state(), Supervisor::State::serving);
    EXPECT_EQ(f.sup->reloads_failed(), 1u);
    EXPECT_EQ(f.sup->last_reload_error(), "minid.conf:2: workers: not a number");
    ASSERT_FALSE(f.host.ready.empty());
    EXPECT_EQ(f.host.ready.back().rfind("reload failed: ", 0), 0u) << "READY=1, STATUS= says why";
}

TEST(Supervisor, DrainingWorkerIsKilledGracefulTimeoutPlusFiveSecondsAfterTheDrain) {
    Config base;
    base.graceful_timeout = std::chrono::milliseconds(3000);
    Fixture f(1, base);
    f.serve();
    f.sup->reload(nullptr);
    const uint64_t drained_at = f.host.now;
    f.ready_all(2);
    const pid_t old = f.host.pids_of(1)[0];
    ASSERT_EQ(f.host.count_signals(old, SIGTERM), 1);
    const uint64_t deadline = drained_at + 3000 + Supervisor::kKillGraceMs;
    for (uint64_t t = drained_at + 1000; t < deadline; t += 1000) {
        f.host.now = t;
        f.sup->worker_alive(old);
        f.sup->worker_alive(f.host.pids_of(2)[0]);
        f.sup->tick();
    }
    EXPECT_EQ(f.host.count_signals(old, SIGKILL), 0) << "not before graceful_timeout + 5 s";
    f.host.now = deadline;
    f.sup->tick();
    EXPECT_EQ(f.host.count_signals(old, SIGKILL), 1);
    f.host.now += 1000;
    f.sup->tick();
    EXPECT_EQ(f.host.count_signals(old, SIGKILL), 1) << "killed once";
    EXPECT_EQ(f.host.count_signals(f.host.pids_of(2)[0], SIGKILL), 0);
}

TEST(Supervisor, WorkerThatStopsAnsweringPingsIsKilledAfterHangTimeout) {
    Config base;
    base.hang_timeout = std::chrono::milliseconds(3000);
    Fixture f(2, base);
    f.serve();
    const auto pids = f.host.pids_of(1);
    const pid_t healthy = pids[0], hung = pids[1];
    const uint64_t hung_since = f.host.now;
    for (int s = 1; s <= 3; ++s) {
        f.host.now = hung_since + 1000 * static_cast<uint64_t>(s);
        f.sup->tick();
        f.sup->worker_alive(healthy);
    }
    EXPECT_EQ(f.host.count_signals(hung, SIGKILL), 0) << "3 s is not more than hang_timeout";
    EXPECT_GE(f.host.pings.size(), 6u) << "both are pinged every tick";
    f.host.now = hung_since + 3001;
    f.sup->tick();
    EXPECT_EQ(f.host.count_signals(hung, SIGKILL), 1);
    EXPECT_EQ(f.host.count_signals(healthy, SIGKILL), 0);
    // Its exit is a crash of the serving generation: replaced.
    f.sup->worker_exited(hung, killed(SIGKILL));
    ASSERT_EQ(f.host.respawn_delays.size(), 1u);
    f.sup->respawn_due();
    EXPECT_EQ(f.host.pids_of(1).size(), 3u);
}

TEST(Supervisor, StartingWorkersAreNotPingedOrHangKilled) {
    Config base;
    base.hang_timeout = std::chrono::milliseconds(2000);
    Fixture f(1, base);
    ASSERT_TRUE(f.sup->start().ok());
    f.host.now += 5000;
    f.sup->tick();
    EXPECT_TRUE(f.host.pings.empty());
    EXPECT_TRUE(f.host.signals.empty());
}

TEST(Supervisor, GenerationThatDoesNotStartInTimeFailsAndTheOldOneKeepsServing) {
    Fixture f(2);
    f.serve();
    std::optional<Status> result;
    f.sup->reload([&](const Status& st) { result = st; });
    const auto fresh = f.host.pids_of(2);
    f.sup->worker_ready(fresh[0]);  // one of two gets ready, the other never does
    f.host.now += Supervisor::kStartupTimeoutMs - 1;
    for (pid_t p : f.host.pids_of(1)) f.sup->worker_alive(p);
    f.sup->worker_alive(fresh[0]);
    f.sup->tick();
    EXPECT_FALSE(result);
    f.host.now += 1;
    f.sup->tick();
    ASSERT_TRUE(result && !result->ok());
    EXPECT_NE(result->error().find("did not start accepting within 15 s"), std::string::npos)
        << result->error();
    EXPECT_EQ(f.host.count_signals(fresh[1], SIGKILL), 1) << "still starting: nothing to finish";
    EXPECT_EQ(f.host.count_signals(fresh[0], SIGTERM), 1) << "ready: drains what it took";
    for (pid_t p : f.host.pids_of(1)) EXPECT_TRUE(f.host.count_signals(p, SIGTERM) == 0);
    EXPECT_EQ(f.sup->serving_generation(), 1u);
    EXPECT_EQ(f.sup->state(), Supervisor::State::serving);
    EXPECT_EQ(f.sup->reloads_failed(), 1u);
    // The failed generation's exits are not crashes of the serving one.
    for (pid_t p : fresh) f.sup->worker_exited(p, killed(SIGKILL));
    EXPECT_TRUE(f.host.respawn_delays.empty());
    EXPECT_EQ(f.host.gone, std::vector<uint64_t>{2});
}

TEST(Supervisor, WorkerDyingDuringStartUpFailsTheReloadAndTheOldOneKeepsServing) {
    Fixture f(1);
    f.serve();
    std::optional<Status> result;
    f.sup->reload([&](const Status& st) { result = st; });
    f.sup->worker_exited(f.host.pids_of(2)[0], exited(3));
    ASSERT_TRUE(result && !result->ok());
    EXPECT_NE(result->error().find("worker binary speaks another protocol"), std::string::npos)
        << result->error();
    EXPECT_EQ(f.sup->serving_generation(), 1u);
    EXPECT_EQ(f.host.count_signals(f.host.pids_of(1)[0], SIGTERM), 0);
}

TEST(Supervisor, SpawnFailureDuringReloadFailsItTruthfully) {
    Fixture f(1);
    f.serve();
    f.host.spawn_fails = true;
    std::optional<Status> result;
    f.sup->reload([&](const Status& st) { result = st; });
    ASSERT_TRUE(result && !result->ok());
    EXPECT_NE(result->error().find("fork"), std::string::npos);
    EXPECT_EQ(f.sup->state(), Supervisor::State::serving);
}

TEST(Supervisor, FirstGenerationThatCannotStartStopsWithExitCodeOne) {
    Fixture f(1);
    ASSERT_TRUE(f.sup->start().ok());
    f.sup->worker_exited(f.host.pids_of(1)[0], exited(2));
    EXPECT_EQ(f.sup->exit_code(), 1);
    EXPECT_EQ(f.sup->state(), Supervisor::State::stopped);
    EXPECT_TRUE(f.host.stopped_called);
}

TEST(Supervisor, OldestDrainingGenerationIsKilledBeyondTheLimit) {
    Config base;
    base.max_draining_generations = 1;
    Fixture f(1, base);
    f.serve();
    f.sup->reload(nullptr);
    f.ready_all(2);  // generation 1 drains
    f.sup->reload(nullptr);
    f.ready_all(3);  // generation 2 drains too: one too many
    EXPECT_EQ(f.host.count_signals(f.host.pids_of(1)[0], SIGKILL), 1);
    EXPECT_EQ(f.host.count_signals(f.host.pids_of(2)[0], SIGKILL), 0);
}

TEST(Supervisor, GracefulStopDrainsEveryWorkerAndEndsWhenTheLastExits) {
    Fixture f(2);
    f.serve();
    std::optional<Status> pending;
    f.sup->reload([&](const Status& st) { pending = st; });
    f.sup->stop(false);
    ASSERT_TRUE(pending && !pending->ok()) << "a pending reload is answered";
    EXPECT_EQ(pending->error(), "minid is stopping");
    EXPECT_EQ(f.sup->state(), Supervisor::State::stopping);
    EXPECT_EQ(f.host.stopping.size(), 1u);
    for (const auto& s : f.host.spawns) EXPECT_EQ(f.host.count_signals(s.pid, SIGTERM), 1);
    std::optional<Status> late;
    f.sup->reload([&](const Status& st) { late = st; });
    ASSERT_TRUE(late && !late->ok());
    for (const auto& s : f.host.spawns) f.sup->worker_exited(s.pid, exited(0));
    EXPECT_TRUE(f.host.respawn_delays.empty());
    EXPECT_TRUE(f.host.stopped_called);
    EXPECT_EQ(f.sup->state(), Supervisor::State::stopped);
    EXPECT_EQ(f.sup->exit_code(), 0);
}

TEST(Supervisor, SetWorkersDrainsTheNewestSurplusAndSpawnsMissingOnes) {
    Fixture f(3);
    f.serve();
    const auto pids = f.host.pids_of(1);
    ASSERT_TRUE(f.sup->set_workers(1).ok());
    int drained = 0;
    for (pid_t p : pids) drained += f.host.count_signals(p, SIGTERM);
    EXPECT_EQ(drained, 2);
    for (pid_t p : pids)
        if (f.host.count_signals(p, SIGTERM)) f.sup->worker_exited(p, exited(0));
    EXPECT_TRUE(f.host.respawn_delays.empty()) << "retired, not crashed";
    ASSERT_TRUE(f.sup->set_workers(2).ok());
    EXPECT_EQ(f.host.pids_of(1).size(), 4u);
    EXPECT_EQ(f.sup->workers().size(), 2u);
    EXPECT_FALSE(f.sup->set_workers(0).ok());
}

TEST(Supervisor, SnapshotAndAdoptCarryWorkersNumberingAndDeadlines) {
    Config base;
    base.graceful_timeout = std::chrono::milliseconds(3000);
    Fixture f(1, base);
    f.serve();
    f.sup->reload(nullptr);
    f.ready_all(2);  // generation 1 drains, its kill deadline 8 s from now
    f.host.now += 2000;
    const pid_t old = f.host.pids_of(1)[0], serving = f.host.pids_of(2)[0];
    const Supervisor::Snapshot snap = f.sup->snapshot();
    EXPECT_EQ(snap.last_generation, 2u);
    EXPECT_EQ(snap.serving_generation, 2u);
    EXPECT_EQ(snap.reloads_ok, 1u);
    ASSERT_EQ(snap.workers.size(), 2u);

    // The re-executed image: another clock origin, same processes.
    FakeHost host2;
    host2.now = 50'000;
    host2.next_pid = 500;
    host2.config = f.host.config;
    Supervisor next(host2, f.host.config);
    next.adopt(snap);
    EXPECT_EQ(next.state(), Supervisor::State::serving);
    EXPECT_EQ(next.serving_generation(), 2u);
    EXPECT_EQ(next.serving_workers(), 1u);
    EXPECT_EQ(next.reloads_ok(), 1u);
    // The drain deadline keeps running: 6 s were left.
    host2.now += 5999;
    next.worker_alive(old);
    next.worker_alive(serving);
    next.tick();
    EXPECT_EQ(host2.count_signals(old, SIGKILL), 0);
    host2.now += 1;
    next.tick();
    EXPECT_EQ(host2.count_signals(old, SIGKILL), 1);
    // The reload that re-executed it continues as generation 3.
    next.reload(nullptr);
    ASSERT_EQ(host2.pids_of(3).size(), 1u);
    next.worker_ready(host2.pids_of(3)[0]);
    EXPECT_EQ(next.serving_generation(), 3u);
    EXPECT_EQ(host2.count_signals(serving, SIGTERM), 1) << "the adopted generation drains";
    next.worker_exited(old, killed(SIGKILL));
    next.worker_exited(serving, exited(0));
    EXPECT_TRUE(host2.respawn_delays.empty());
}

}  // namespace
}  // namespace minid
