// Supervisor implementation. Every decision about worker processes is made here; every effect
// goes through SupervisorHost. Log lines are part of the behaviour (operators and tests read
// them) and are written here, next to the decision they report.
#include "daemon/supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "common/log.hpp"
#include "common/worker_protocol.hpp"

namespace minid {
namespace {

namespace wp = worker_protocol;

std::string describe_exit(int status) {
    if (WIFEXITED(status)) {
        const int code = WEXITSTATUS(status);
        std::string s = "exited with status " + std::to_string(code);
        if (code == wp::kExitFatalConfig) s += " (fatal configuration problem)";
        if (code == wp::kExitProtocolMismatch) s += " (worker binary speaks another protocol)";
        if (code == 127) s += " (could not exec the worker binary)";
        return s;
    }
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    return "ended with wait status " + std::to_string(status);
}

}  // namespace

const char* to_string(Supervisor::State state) {
    switch (state) {
        case Supervisor::State::idle:
            return "idle";
        case Supervisor::State::starting:
            return "starting";
        case Supervisor::State::serving:
            return "serving";
        case Supervisor::State::reloading:
            return "reloading";
        case Supervisor::State::stopping:
            return "stopping";
        case Supervisor::State::stopped:
            return "stopped";
    }
    return "?";
}

Supervisor::Supervisor(SupervisorHost& host, Config config)
    : host_(host), config_(std::move(config)) {
    target_workers_ = config_.effective_workers();
}

void Supervisor::set_state(State next) {
    if (next == state_) return;
    log::debug("supervisor: ", to_string(state_), " -> ", to_string(next));
    state_ = next;
}

Status Supervisor::start() {
    set_state(State::starting);
    return launch_generation(config_);
}

void Supervisor::adopt(const Snapshot& snap) {
    const uint64_t now = host_.now_ms();
    last_generation_ = snap.last_generation;
    current_generation_ = snap.serving_generation;
    target_workers_ = snap.target_workers;
    reloads_ok_ = snap.reloads_ok;
    reloads_failed_ = snap.reloads_failed;
    last_reload_error_ = snap.last_reload_error;
    consecutive_crashes_ = snap.consecutive_crashes;
    Generation& serving = generations_[current_generation_];
    serving.number = current_generation_;
    serving.config = config_;
    serving.target = target_workers_;
    for (const auto& a : snap.workers) {
        Worker w;
        w.pid = a.pid;
        w.generation = a.generation;
        w.phase = a.phase;
        w.spawned_ms = now > a.age_ms ? now - a.age_ms : 0;
        w.last_alive_ms = now;
        if (a.kill_overdue)
            w.kill_deadline_ms = now;
        else if (a.kill_in_ms)
            w.kill_deadline_ms = now + a.kill_in_ms;
        workers_[w.pid] = w;
        // A draining generation's deadlines are carried per worker; its config is not needed.
        Generation& g = generations_[a.generation];
        if (g.number == 0) {
            g.number = a.generation;
            g.config = config_;
        }
    }
    set_state(State::serving);
}

Supervisor::Snapshot Supervisor::snapshot() const {
    const uint64_t now = host_.now_ms();
    Snapshot s;
    s.last_generation = last_generation_;
    s.serving_generation = current_generation_;
    s.target_workers = target_workers_;
    s.reloads_ok = reloads_ok_;
    s.reloads_failed = reloads_failed_;
    s.last_reload_error = last_reload_error_;
    s.consecutive_crashes = consecutive_crashes_;
    for (const auto& [pid, w] : workers_) {
        Snapshot::Worker a;
        a.pid = pid;
        a.generation = w.generation;
        a.phase = w.phase;
        a.age_ms = now - w.spawned_ms;
        if (w.kill_deadline_ms) {
            a.kill_overdue = w.kill_deadline_ms <= now;
            a.kill_in_ms = a.kill_overdue ? 0 : w.kill_deadline_ms - now;
        }
        s.workers.push_back(a);
    }
    return s;
}

Status Supervisor::launch_generation(Config config) {
    Generation& g = generations_[++last_generation_];
    g.number = last_generation_;
    g.target = target_workers_;
    g.config = std::move(config);
    starting_generation_ = g.number;
    starting_deadline_ms_ = host_.now_ms() + kStartupTimeoutMs;
    if (current_generation_ != 0) set_state(State::reloading);
    for (unsigned i = 0; i < g.target; ++i) {
        if (auto st = spawn_into(g); !st) {
            fail_generation(st.error());
            return make_error(st.error());
        }
    }
    log::info("starting generation ", g.number, " with ", g.target, " worker(s)");
    return {};
}

Status Supervisor::spawn_into(Generation& gen) {
    auto pid = host_.spawn(gen.number, gen.config, gen.target);
    if (!pid) return make_error(pid.error());
    Worker w;
    w.pid = *pid;
    w.generation = gen.number;
    w.spawned_ms = host_.now_ms();
    w.last_alive_ms = w.spawned_ms;
    workers_[w.pid] = w;
    return {};
}

unsigned Supervisor::count_workers(uint64_t generation, bool ready_only) const {
    unsigned n = 0;
    for (const auto& [pid, w] : workers_)
        if (w.generation == generation && (!ready_only || w.phase == WorkerPhase::serving)) ++n;
    return n;
}

unsigned Supervisor::serving_workers() const {
    return current_generation_ ? count_workers(current_generation_, true) : 0;
}

std::vector<Supervisor::WorkerView> Supervisor::workers() const {
    std::vector<WorkerView> v;
    v.reserve(workers_.size());
    for (const auto& [pid, w] : workers_)
        v.push_back({pid, w.generation, w.phase, w.spawned_ms, w.kill_deadline_ms});
    return v;
}

void Supervisor::worker_ready(pid_t pid) {
    auto it = workers_.find(pid);
    if (it == workers_.end()) return;
    Worker& w = it->second;
    // A worker told to drain while starting (a stop or failed reload) may still say ready.
    if (w.phase != WorkerPhase::starting) return;
    w.phase = WorkerPhase::serving;
    w.last_alive_ms = host_.now_ms();
    if (stopping()) {
        drain_worker(w, "stopping");
        return;
    }
    if (w.generation == starting_generation_ &&
        count_workers(w.generation, true) >= generations_[w.generation].target)
        commit_generation();
}

void Supervisor::worker_alive(pid_t pid) {
    auto it = workers_.find(pid);
    if (it != workers_.end()) it->second.last_alive_ms = host_.now_ms();
}

void Supervisor::commit_generation() {
    const uint64_t old = current_generation_;
    Generation& gen = generations_[starting_generation_];
    current_generation_ = starting_generation_;
    starting_generation_ = 0;
    set_state(State::serving);
    config_ = gen.config;
    host_.serving_config_changed(config_);
    consecutive_crashes_ = 0;
    for (auto& [pid, w] : workers_)
        if (w.generation != current_generation_ && w.phase != WorkerPhase::draining)
            drain_worker(w, "replaced by a new generation");
    enforce_draining_limit();
    if (old == 0) {
        log::info("generation ", current_generation_, " is serving");
        host_.notify_ready(host_.status_line());
        start_queued_reload();
    } else {
        log::info("reload complete: generation ", current_generation_, " is serving after ",
                  host_.now_ms() - reload_started_ms_, " ms, generation ", old, " is draining");
        finish_reload({});
    }
    host_.status_changed();
}

void Supervisor::fail_generation(const std::string& why) {
    const uint64_t g = starting_generation_;
    if (g == 0) return;
    starting_generation_ = 0;
    for (auto& [pid, w] : workers_) {
        if (w.generation != g) continue;
        // A worker that already accepted connections finishes them; one still starting has none.
        if (w.phase == WorkerPhase::serving)
            drain_worker(w, "its generation failed to start");
        else if (w.phase == WorkerPhase::starting)
            host_.signal(w.pid, SIGKILL);
    }
    if (current_generation_ == 0) {
        log::error("generation ", g, " failed to start: ", why);
        exit_code_ = 1;
        stop(true);
        return;
    }
    set_state(State::serving);
    log::error("reload failed, generation ", current_generation_, " keeps serving: ", why);
    finish_reload(make_error(why));
}

void Supervisor::reload(ReloadDone done) {
    if (stopping()) {
        if (done) done(make_error("minid is stopping"));
        return;
    }
    if (starting_generation_ != 0 || current_generation_ == 0) {
        // One reload at a time; asks during it are answered by one more reload after it.
        reload_queued_ = true;
        if (done) queued_waiters_.push_back(std::move(done));
        return;
    }
    if (done) reload_waiters_.push_back(std::move(done));
    begin_reload();
}

void Supervisor::begin_reload() {
    reload_started_ms_ = host_.now_ms();
    host_.notify_reloading("reloading: starting generation " +
                           std::to_string(last_generation_ + 1));
    auto config = host_.load_reload_config();
    if (!config) {
        // The host has logged why, with the file's name.
        finish_reload(make_error(config.error()));
        return;
    }
    target_workers_ = config->effective_workers();
    // An error here was already reported through fail_generation.
    (void)launch_generation(std::move(config).value());
}

void Supervisor::finish_reload(const Status& result) {
    if (result) {
        ++reloads_ok_;
        last_reload_error_.clear();
    } else {
        ++reloads_failed_;
        last_reload_error_ = result.error();
    }
    // READY=1 after a failed reload too: the service is up, it just did not change.
    host_.notify_ready(result ? host_.status_line()
                              : "reload failed: " + result.error().substr(0, 200));
    auto waiters = std::move(reload_waiters_);
    reload_waiters_.clear();
    for (auto& w : waiters) w(result);
    start_queued_reload();
}

void Supervisor::start_queued_reload() {
    if (!reload_queued_ || stopping()) return;
    reload_queued_ = false;
    reload_waiters_ = std::move(queued_waiters_);
    queued_waiters_.clear();
    begin_reload();
}

void Supervisor::drain_worker(Worker& w, const char* why) {
    if (w.phase == WorkerPhase::draining) return;
    w.phase = WorkerPhase::draining;
    const auto it = generations_.find(w.generation);
    const uint64_t graceful =
        it != generations_.end() ? static_cast<uint64_t>(it->second.config.graceful_timeout.count())
                                 : static_cast<uint64_t>(config_.graceful_timeout.count());
    w.kill_deadline_ms = host_.now_ms() + graceful + kKillGraceMs;
    log::debug("draining worker ", w.pid, " (generation ", w.generation, "): ", why);
    host_.signal(w.pid, SIGTERM);
}

void Supervisor::enforce_draining_limit() {
    std::vector<uint64_t> draining;
    for (const auto& [pid, w] : workers_)
        if (w.phase == WorkerPhase::draining &&
            std::find(draining.begin(), draining.end(), w.generation) == draining.end())
            draining.push_back(w.generation);
    std::sort(draining.begin(), draining.end());
    while (draining.size() > config_.max_draining_generations) {
        const uint64_t victim = draining.front();
        draining.erase(draining.begin());
        log::warn("more than ", config_.max_draining_generations,
                  " generations draining: stopping generation ", victim, " now");
        for (auto& [pid, w] : workers_)
            if (w.generation == victim) host_.signal(pid, SIGKILL);
    }
}

void Supervisor::worker_exited(pid_t pid, int status) {
    auto it = workers_.find(pid);
    if (it == workers_.end()) return;
    const Worker w = it->second;
    workers_.erase(it);
    const std::string how = describe_exit(status);
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == wp::kExitOk;
    const bool fatal = WIFEXITED(status) && wp::is_fatal_exit(WEXITSTATUS(status));

    if (stopping()) {
        log::debug("worker ", pid, " ", how);
        finish_stop_if_done();
        return;
    }
    if (w.generation == starting_generation_) {
        fail_generation("worker " + std::to_string(pid) + " of generation " +
                        std::to_string(w.generation) + " " + how + " during start-up");
    } else if (w.generation == current_generation_ && w.phase != WorkerPhase::draining) {
        if (fatal) {
            log::error("worker ", pid, " ", how, "; not restarting it");
            if (count_workers(current_generation_, false) == 0) {
                log::error("no worker left in the serving generation; exiting");
                exit_code_ = 1;
                stop(true);
                return;
            }
        } else {
            log::error("worker ", pid, " (generation ", w.generation, ") ", how, "; restarting it");
            const bool young = host_.now_ms() - w.spawned_ms < kCrashWindowMs;
            consecutive_crashes_ = young ? consecutive_crashes_ + 1 : 1;
            schedule_respawn();
        }
    } else {
        if (clean)
            log::info("worker ", pid, " of generation ", w.generation, " finished draining");
        else
            log::warn("worker ", pid, " of generation ", w.generation, " ", how);
    }
    forget_empty_generations();
    host_.status_changed();
}

void Supervisor::schedule_respawn() {
    if (respawn_pending_) return;
    respawn_pending_ = true;
    // The first crash is replaced at once; a worker that keeps dying young waits 0.2 s, 0.4 s,
    // ... up to 30 s, so a crash at start-up cannot turn the master into a fork loop.
    uint64_t delay = 0;
    if (consecutive_crashes_ > 1)
        delay =
            std::min<uint64_t>(kMaxBackoffMs, 100ull << std::min(consecutive_crashes_ - 1, 20u));
    if (delay > 0)
        log::warn("worker crashed ", consecutive_crashes_, " times in a row; next start in ", delay,
                  " ms");
    host_.arm_respawn_timer(delay);
}

void Supervisor::respawn_due() {
    respawn_pending_ = false;
    if (stopping() || current_generation_ == 0) return;
    Generation& gen = generations_[current_generation_];
    while (count_workers(gen.number, false) < gen.target) {
        if (auto st = spawn_into(gen); !st) {
            log::error("cannot restart a worker: ", st.error());
            consecutive_crashes_++;
            schedule_respawn();
            return;
        }
    }
}

Status Supervisor::set_workers(unsigned count) {
    if (count < 1 || count > 256) return make_error("worker count must be between 1 and 256");
    if (stopping()) return make_error("minid is stopping");
    if (current_generation_ == 0) return make_error("minid is still starting");
    target_workers_ = count;
    Generation& gen = generations_[current_generation_];
    gen.target = count;
    log::info("worker count set to ", count, " (until the next reload re-reads the config)");
    // Retire the newest surplus workers; they drain like a reload's old generation.
    std::vector<Worker*> live;
    for (auto& [pid, w] : workers_)
        if (w.generation == gen.number && w.phase != WorkerPhase::draining) live.push_back(&w);
    std::sort(live.begin(), live.end(),
              [](const Worker* a, const Worker* b) { return a->spawned_ms > b->spawned_ms; });
    for (size_t i = 0; live.size() - i > count; ++i) drain_worker(*live[i], "worker count lowered");
    respawn_due();
    host_.status_changed();
    return {};
}

void Supervisor::stop(bool fast) {
    if (stopping() && (!fast || fast_stop_)) return;
    const bool first = !stopping();
    set_state(State::stopping);
    fast_stop_ = fast;
    if (first) {
        log::info(fast ? "fast stop" : "graceful stop", ": ", workers_.size(), " worker(s) to end");
        host_.notify_stopping(fast ? "stopping" : "stopping: draining connections");
    }
    const uint64_t bound =
        fast ? kFastStopMs : static_cast<uint64_t>(config_.graceful_timeout.count()) + kKillGraceMs;
    stop_deadline_ms_ = host_.now_ms() + bound;
    starting_generation_ = 0;
    for (auto& [pid, w] : workers_) {
        if (fast) {
            host_.signal(pid, SIGQUIT);
            w.phase = WorkerPhase::draining;
        } else {
            drain_worker(w, "stopping");
        }
    }
    auto waiters = std::move(reload_waiters_);
    for (auto& w : waiters) w(make_error("minid is stopping"));
    auto queued = std::move(queued_waiters_);
    for (auto& w : queued) w(make_error("minid is stopping"));
    reload_waiters_.clear();
    queued_waiters_.clear();
    finish_stop_if_done();
}

void Supervisor::finish_stop_if_done() {
    if (state_ != State::stopping || !workers_.empty()) return;
    log::info("all workers have exited");
    set_state(State::stopped);
    host_.stopped();
}

void Supervisor::forget_empty_generations() {
    for (auto it = generations_.begin(); it != generations_.end();) {
        const uint64_t g = it->first;
        if (g != current_generation_ && g != starting_generation_ && count_workers(g, false) == 0) {
            it = generations_.erase(it);
            host_.generation_gone(g);
        } else {
            ++it;
        }
    }
}

void Supervisor::tick() {
    const uint64_t now = host_.now_ms();
    if (starting_generation_ != 0 && now >= starting_deadline_ms_)
        fail_generation("generation " + std::to_string(starting_generation_) +
                        " did not start accepting within " +
                        std::to_string(kStartupTimeoutMs / 1000) + " s");
    for (auto& [pid, w] : workers_) {
        if (w.kill_deadline_ms && now >= w.kill_deadline_ms) {
            log::warn("worker ", pid, " is still draining past graceful_timeout; killing it");
            host_.signal(pid, SIGKILL);
            w.kill_deadline_ms = 0;
            continue;
        }
        if (w.phase == WorkerPhase::starting) continue;
        // A worker that has not answered a ping for hang_timeout has a loop that no longer
        // turns (or a broken link): kill it. Its exit is handled like a crash.
        if (now > w.last_alive_ms + static_cast<uint64_t>(config_.hang_timeout.count())) {
            log::error("worker ", pid, " has not made progress for ",
                       (now - w.last_alive_ms) / 1000, " s; killing it");
            host_.signal(pid, SIGKILL);
            w.last_alive_ms = now;
            continue;
        }
        host_.ping(pid);
    }
    if (state_ == State::stopping) {
        if (now >= stop_deadline_ms_ && !workers_.empty()) {
            log::warn(workers_.size(),
                      " worker(s) still running at the stop deadline; killing them");
            for (auto& [pid, w] : workers_) host_.signal(pid, SIGKILL);
            stop_deadline_ms_ = now + kFastStopMs;
        } else if (!workers_.empty()) {
            // Tell systemd we are making progress, so its stop timeout follows our own bound.
            host_.notify_extend_timeout((stop_deadline_ms_ - now + kFastStopMs) * 1000);
        }
    }
    host_.status_changed();
}

}  // namespace minid
