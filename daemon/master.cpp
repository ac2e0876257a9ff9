// Master implementation. Listening sockets stay open here across every reload, so the kernel
// keeps queueing connections while generations change hands: nothing is refused.
#include "daemon/master.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.hpp"
#include "common/worker_message.hpp"
#include "common/worker_protocol.hpp"
#include "daemon/control_status.hpp"
#include "daemon/cpu_quota.hpp"
#include "daemon/systemd_notify.hpp"
#include "daemon/worker_spawn.hpp"

namespace minid {
namespace {

namespace wp = worker_protocol;

constexpr uint64_t kTickMs = 1000;
constexpr uint64_t kStartupTimeoutMs = 15'000;  // a generation must be accepting by then
constexpr uint64_t kKillGraceMs = 5'000;        // after graceful_timeout, before SIGKILL
constexpr uint64_t kFastStopMs = 5'000;
constexpr uint64_t kCrashWindowMs = 10'000;  // a worker dying younger than this "crashed at start"
constexpr uint64_t kMaxBackoffMs = 30'000;

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

Result<UniqueFd> make_config_memfd(const std::string& text) {
    UniqueFd fd(::memfd_create("minid-config", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) return make_error(sys_error("memfd_create", "minid-config", errno));
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(sys_error("write", "config memfd", errno));
        off += static_cast<size_t>(n);
    }
    // Sealed: no worker of this generation can ever read anything but what the master validated.
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) !=
        0)
        return make_error(sys_error("fcntl(F_ADD_SEALS)", "config memfd", errno));
    return fd;
}

// A polling worker spends CPU time while it waits. Under a cgroup CPU quota (systemd's
// CPUQuota=, a container's CPU limit) of less than one CPU per worker that time is taken from
// requests: the kernel throttles the whole service for the rest of each period once the quota
// is gone. So such a generation's workers sleep when idle, whatever busy_poll says.
Config config_for_workers(const Config& config, unsigned workers, uint64_t generation) {
    Config c = config;
    if (config.busy_poll.count() == 0) return c;
    const auto quota = current_cpu_quota();
    if (!quota || quota->cpus >= static_cast<double>(workers)) return c;
    c.busy_poll = std::chrono::microseconds{0};
    char cpus[32];
    std::snprintf(cpus, sizeof cpus, "%.2f", quota->cpus);
    log::notice("generation ", generation,
                ": busy polling is off: the CPU quota of this cgroup is ", cpus, " CPU (",
                quota->source, "), less than one CPU for each of ", workers, " worker(s)");
    return c;
}

}  // namespace

Result<std::unique_ptr<Master>> Master::create(uv_loop_t* loop, MasterOptions options) {
    auto listeners = ListenSockets::acquire(options.config);
    if (!listeners) return make_error(listeners.error());
    auto stats = StatsSegment::create();
    if (!stats) return make_error(stats.error());
    std::unique_ptr<Master> m(new Master(loop, std::move(options), std::move(listeners).value(),
                                         std::move(stats).value()));
    return m;
}

Master::Master(uv_loop_t* loop, MasterOptions options, ListenSockets listeners, StatsSegment stats)
    : loop_(loop),
      options_(std::move(options)),
      config_(options_.config),
      listeners_(std::move(listeners)),
      stats_(std::move(stats)),
      executable_(current_executable()),
      pid_(::getpid()),
      started_unix_ms_(unix_ms()) {
    target_workers_ = config_.effective_workers();
}

Master::~Master() = default;

void Master::watch_signals() {
    struct Entry {
        int signum;
        void (*fn)(Master&);
    };
    static const Entry kEntries[] = {
        {SIGHUP, [](Master& m) { m.reload(nullptr); }},
        {SIGTERM, [](Master& m) { m.stop(false); }},
        {SIGINT, [](Master& m) { m.stop(true); }},
        {SIGQUIT, [](Master& m) { m.stop(true); }},
        {SIGUSR1, [](Master& m) { m.reopen_logs(); }},
        {SIGTTIN,
         [](Master& m) {
             if (auto st = m.set_workers(m.target_workers_ + 1); !st) log::error(st.error());
         }},
        {SIGTTOU,
         [](Master& m) {
             if (m.target_workers_ <= 1) {
                 log::warn("SIGTTOU ignored: keeping at least one worker");
                 return;
             }
             if (auto st = m.set_workers(m.target_workers_ - 1); !st) log::error(st.error());
         }},
        {SIGCHLD, [](Master& m) { m.reap_children(); }},
    };
    for (const auto& e : kEntries) {
        UvHandle<uv_signal_t> h;
        uv_signal_init(loop_, h.make());
        h.get()->data = this;
        // The callback finds its entry again by signal number (libuv passes it).
        uv_signal_start(
            h.get(),
            [](uv_signal_t* s, int signum) noexcept {
                auto* m = static_cast<Master*>(s->data);
                if (!m) return;
                for (const auto& en : kEntries)
                    if (en.signum == signum) en.fn(*m);
            },
            e.signum);
        signals_.push_back(std::move(h));
    }
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t none;  // main() blocked everything until now
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

int Master::run() {
    watch_signals();
    uv_timer_init(loop_, tick_timer_.make());
    tick_timer_.get()->data = this;
    uv_timer_start(
        tick_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* m = static_cast<Master*>(t->data)) m->tick();
        },
        kTickMs, kTickMs);
    uv_timer_init(loop_, respawn_timer_.make());
    respawn_timer_.get()->data = this;

    if (uint64_t usec = notify::watchdog_usec(); usec > 0) {
        uv_timer_init(loop_, watchdog_timer_.make());
        watchdog_timer_.get()->data = this;
        const uint64_t every = std::max<uint64_t>(usec / 2000, 100);
        uv_timer_start(
            watchdog_timer_.get(),
            [](uv_timer_t* t) noexcept {
                auto* m = static_cast<Master*>(t->data);
                // Only vouch for the service while it can serve: at least one worker of the
                // serving generation is up and its loop turns.
                if (m && m->current_generation_ &&
                    m->count_workers(m->current_generation_, true) > 0)
                    notify::watchdog();
            },
            every, every);
        log::info("systemd watchdog enabled: pinging every ", every, " ms");
    }

    for (const auto& s : listeners_.sockets())
        log::info("listening on ", s.bound, listeners_.from_systemd() ? " (from systemd)" : "");
    if (listeners_.from_systemd() && !options_.config_path.empty())
        log::debug("socket activated: the config's listen= is not used");

    if (!config_.control_socket.empty()) {
        // minid keeps serving without its control socket (e.g. run by hand without
        // permission for /run/minid); minidctl then says it cannot reach it.
        auto control = ControlServer::create(loop_, *this);
        if (control)
            control_ = std::move(control).value();
        else
            log::error("control socket disabled: ", control.error());
    }
    if (auto st = launch_generation(config_); !st) {
        log::error("cannot start workers: ", st.error());
        if (control_) control_->close();
        return 1;
    }
    uv_run(loop_, UV_RUN_DEFAULT);
    if (control_) control_->close();
    control_.reset();

    // Close our handles and let their close callbacks run before the loop is closed.
    tick_timer_.close();
    respawn_timer_.close();
    watchdog_timer_.close();
    signals_.clear();
    workers_.clear();
    uv_run(loop_, UV_RUN_DEFAULT);
    return exit_code_;
}

Status Master::launch_generation(Config config) {
    auto gen = std::make_unique<Generation>();
    gen->number = ++last_generation_;
    auto fd =
        make_config_memfd(config_for_workers(config, target_workers_, gen->number).serialize());
    if (!fd) return make_error(fd.error());
    gen->config_fd = std::move(fd).value();
    gen->target = target_workers_;
    gen->config = std::move(config);
    Generation& g = *gen;
    generations_[g.number] = std::move(gen);
    starting_generation_ = g.number;
    starting_deadline_ms_ = uv_now(loop_) + kStartupTimeoutMs;
    for (unsigned i = 0; i < g.target; ++i) {
        if (auto st = spawn_into(g); !st) {
            fail_generation(st.error());
            return make_error(st.error());
        }
    }
    log::info("starting generation ", g.number, " with ", g.target, " worker(s)");
    return {};
}

Status Master::spawn_into(Generation& gen) {
    int slot = stats_.claim_slot();
    if (slot < 0) return make_error("no free stats slot (too many workers alive)");
    SpawnRequest req;
    req.executable = executable_;
    req.slot = slot;
    req.generation = gen.number;
    req.config_fd = gen.config_fd.get();
    req.stats_fd = stats_.fd();
    req.listeners = &listeners_.sockets();
    auto spawned = spawn_worker(req);
    if (!spawned) {
        stats_.release_slot(static_cast<size_t>(slot));
        return make_error(spawned.error());
    }
    auto w = std::make_unique<Worker>();
    w->pid = spawned->pid;
    w->slot = slot;
    w->generation = gen.number;
    w->spawned_ms = uv_now(loop_);
    w->last_alive_ms = w->spawned_ms;
    w->spawned_unix_ms = unix_ms();
    w->ipc = std::move(spawned->ipc);
    w->master = this;
    WorkerSlot& s = stats_.slot(static_cast<size_t>(slot));
    s.pid.store(static_cast<uint64_t>(w->pid), std::memory_order_relaxed);
    s.generation.store(gen.number, std::memory_order_relaxed);
    s.started_unix_ms.store(w->spawned_unix_ms, std::memory_order_relaxed);
    s.heartbeat_ms.store(monotonic_ms(), std::memory_order_relaxed);

    uv_poll_t* p = w->poll.make();
    if (int rc = uv_poll_init_socket(loop_, p, w->ipc.get()); rc == 0) {
        p->data = w.get();
        uv_poll_start(p, UV_READABLE, [](uv_poll_t* h, int, int) noexcept {
            auto* wk = static_cast<Worker*>(h->data);
            if (wk) wk->master->on_worker_message(*wk);
        });
    } else {
        log::error("uv_poll_init_socket(worker link) failed: ", uv_strerror(rc));
    }
    log::debug("spawned worker pid ", w->pid, " (slot ", slot, ", generation ", gen.number, ")");
    workers_[w->pid] = std::move(w);
    return {};
}

void Master::on_worker_message(Worker& w) {
    namespace msg = worker_message;
    const pid_t pid = w.pid;
    // Bounded, so a link that keeps failing cannot spin here; the poll is level-triggered.
    for (int i = 0; i < 64; ++i) {
        auto got = msg::receive(w.ipc.get());
        if (!got) {
            log::warn("worker ", pid, ": ", got.error());
            continue;
        }
        if (got->closed) {
            // The worker is gone; SIGCHLD brings its exit status. Stop polling a dead link.
            w.poll.close();
            return;
        }
        if (!got->message) return;
        switch (got->message->type) {
            case msg::Type::ready:
                on_worker_ready(w);
                break;
            case msg::Type::pong:
                w.last_alive_ms = uv_now(loop_);
                break;
            case msg::Type::ping:
                log::warn("unexpected ", msg::type_name(got->message->type),
                          " message from worker ", pid);
                break;
        }
        if (workers_.find(pid) == workers_.end()) return;
    }
}

void Master::on_worker_ready(Worker& w) {
    // A worker told to drain while starting (a stop or failed reload) may still say ready.
    if (w.phase != Phase::starting) return;
    w.phase = Phase::serving;
    w.last_alive_ms = uv_now(loop_);
    if (stopping_) {
        drain_worker(w, "stopping");
        return;
    }
    if (w.generation == starting_generation_ &&
        count_workers(w.generation, true) >= generations_[w.generation]->target)
        commit_generation();
}

unsigned Master::count_workers(uint64_t generation, bool ready_only) const {
    unsigned n = 0;
    for (const auto& [pid, w] : workers_)
        if (w->generation == generation && (!ready_only || w->phase == Phase::serving)) ++n;
    return n;
}

void Master::commit_generation() {
    const uint64_t old = current_generation_;
    Generation& gen = *generations_[starting_generation_];
    current_generation_ = starting_generation_;
    starting_generation_ = 0;
    config_ = gen.config;
    log::set_level(config_.log_level);
    consecutive_crashes_ = 0;
    for (auto& [pid, w] : workers_)
        if (w->generation != current_generation_ && w->phase != Phase::draining)
            drain_worker(*w, "replaced by a new generation");
    enforce_draining_limit();
    if (old == 0) {
        log::info("generation ", current_generation_, " is serving");
        notify::ready(status_line());
        start_queued_reload();
    } else {
        log::info("reload complete: generation ", current_generation_, " is serving after ",
                  uv_now(loop_) - reload_started_ms_, " ms, generation ", old, " is draining");
        finish_reload({});
    }
    update_status();
}

void Master::fail_generation(const std::string& why) {
    const uint64_t g = starting_generation_;
    if (g == 0) return;
    starting_generation_ = 0;
    for (auto& [pid, w] : workers_) {
        if (w->generation != g) continue;
        // A worker that already accepted connections finishes them; one still starting has none.
        if (w->phase == Phase::serving)
            drain_worker(*w, "its generation failed to start");
        else if (w->phase == Phase::starting)
            ::kill(w->pid, SIGKILL);
    }
    if (current_generation_ == 0) {
        log::error("generation ", g, " failed to start: ", why);
        exit_code_ = 1;
        stop(true);
        return;
    }
    log::error("reload failed, generation ", current_generation_, " keeps serving: ", why);
    finish_reload(make_error(why));
}

void Master::reload(ReloadDone done) {
    if (stopping_) {
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

void Master::begin_reload() {
    log::info("reloading configuration", options_.config_path.empty() ? "" : " from ",
              options_.config_path);
    uv_update_time(loop_);
    reload_started_ms_ = uv_now(loop_);
    notify::reloading("reloading: starting generation " + std::to_string(last_generation_ + 1));
    auto config = load_config(options_.config_path, options_.overrides);
    if (!config) {
        log::error("reload failed, generation ", current_generation_, " keeps serving:\n",
                   config.error());
        finish_reload(make_error(config.error()));
        return;
    }
    if (listeners_.from_systemd() && config->listen != config_.listen)
        log::notice(
            "listen= changed, but the listening sockets come from systemd: change the "
            ".socket unit (systemctl edit minid.socket) to move them");
    if (auto st = listeners_.reconcile(*config); !st) {
        log::error("reload failed, generation ", current_generation_,
                   " keeps serving: ", st.error());
        finish_reload(make_error(st.error()));
        return;
    }
    executable_ = current_executable();
    target_workers_ = config->effective_workers();
    if (auto st = launch_generation(std::move(config).value()); !st) {
        // launch_generation already reported through fail_generation.
        return;
    }
}

void Master::finish_reload(const Status& result) {
    if (result) {
        ++reloads_ok_;
        last_reload_error_.clear();
    } else {
        ++reloads_failed_;
        last_reload_error_ = result.error();
    }
    // READY=1 after a failed reload too: the service is up, it just did not change.
    notify::ready(result ? status_line() : "reload failed: " + result.error().substr(0, 200));
    auto waiters = std::move(reload_waiters_);
    reload_waiters_.clear();
    for (auto& w : waiters) w(result);
    start_queued_reload();
}

void Master::start_queued_reload() {
    if (!reload_queued_ || stopping_) return;
    reload_queued_ = false;
    reload_waiters_ = std::move(queued_waiters_);
    queued_waiters_.clear();
    begin_reload();
}

void Master::drain_worker(Worker& w, const char* why) {
    if (w.phase == Phase::draining) return;
    w.phase = Phase::draining;
    const auto it = generations_.find(w.generation);
    const uint64_t graceful =
        it != generations_.end()
            ? static_cast<uint64_t>(it->second->config.graceful_timeout.count())
            : static_cast<uint64_t>(config_.graceful_timeout.count());
    w.kill_deadline_ms = uv_now(loop_) + graceful + kKillGraceMs;
    log::debug("draining worker ", w.pid, " (generation ", w.generation, "): ", why);
    if (::kill(w.pid, SIGTERM) != 0 && errno != ESRCH)
        log::error(sys_error("kill", "worker " + std::to_string(w.pid), errno));
}

void Master::enforce_draining_limit() {
    std::vector<uint64_t> draining;
    for (const auto& [pid, w] : workers_)
        if (w->phase == Phase::draining &&
            std::find(draining.begin(), draining.end(), w->generation) == draining.end())
            draining.push_back(w->generation);
    std::sort(draining.begin(), draining.end());
    while (draining.size() > config_.max_draining_generations) {
        const uint64_t victim = draining.front();
        draining.erase(draining.begin());
        log::warn("more than ", config_.max_draining_generations,
                  " generations draining: stopping generation ", victim, " now");
        for (auto& [pid, w] : workers_)
            if (w->generation == victim) ::kill(w->pid, SIGKILL);
    }
}

void Master::reap_children() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        on_worker_exit(pid, status);
    }
}

void Master::on_worker_exit(pid_t pid, int status) {
    auto it = workers_.find(pid);
    if (it == workers_.end()) return;
    std::unique_ptr<Worker> w = std::move(it->second);
    workers_.erase(it);
    // Its counters live in its stats slot, which the next worker to claim it resets: keep them,
    // so the totals since start never go down when workers are replaced.
    add_slot_counters(exited_, stats_.slot(static_cast<size_t>(w->slot)));
    ++exited_.workers;
    stats_.release_slot(static_cast<size_t>(w->slot));
    const std::string how = describe_exit(status);
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == wp::kExitOk;
    const bool fatal = WIFEXITED(status) && wp::is_fatal_exit(WEXITSTATUS(status));

    if (stopping_) {
        log::debug("worker ", pid, " ", how);
        finish_stop_if_done();
        return;
    }
    if (w->generation == starting_generation_) {
        fail_generation("worker " + std::to_string(pid) + " of generation " +
                        std::to_string(w->generation) + " " + how + " during start-up");
    } else if (w->generation == current_generation_ && w->phase != Phase::draining) {
        if (fatal) {
            log::error("worker ", pid, " ", how, "; not restarting it");
            if (count_workers(current_generation_, false) == 0) {
                log::error("no worker left in the serving generation; exiting");
                exit_code_ = 1;
                stop(true);
                return;
            }
        } else {
            log::error("worker ", pid, " (generation ", w->generation, ") ", how,
                       "; restarting it");
            const bool young = uv_now(loop_) - w->spawned_ms < kCrashWindowMs;
            consecutive_crashes_ = young ? consecutive_crashes_ + 1 : 1;
            schedule_respawn();
        }
    } else {
        if (clean)
            log::info("worker ", pid, " of generation ", w->generation, " finished draining");
        else
            log::warn("worker ", pid, " of generation ", w->generation, " ", how);
    }
    forget_empty_generations();
    update_status();
}

void Master::schedule_respawn() {
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
    uv_timer_start(
        respawn_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* m = static_cast<Master*>(t->data)) m->respawn_missing();
        },
        delay, 0);
}

void Master::respawn_missing() {
    respawn_pending_ = false;
    if (stopping_ || current_generation_ == 0) return;
    Generation& gen = *generations_[current_generation_];
    while (count_workers(gen.number, false) < gen.target) {
        if (auto st = spawn_into(gen); !st) {
            log::error("cannot restart a worker: ", st.error());
            consecutive_crashes_++;
            schedule_respawn();
            return;
        }
    }
}

Status Master::set_workers(unsigned count) {
    if (count < 1 || count > 256) return make_error("worker count must be between 1 and 256");
    if (stopping_) return make_error("minid is stopping");
    if (current_generation_ == 0) return make_error("minid is still starting");
    target_workers_ = count;
    Generation& gen = *generations_[current_generation_];
    gen.target = count;
    log::info("worker count set to ", count, " (until the next reload re-reads the config)");
    // Retire the newest surplus workers; they drain like a reload's old generation.
    std::vector<Worker*> live;
    for (auto& [pid, w] : workers_)
        if (w->generation == gen.number && w->phase != Phase::draining) live.push_back(w.get());
    std::sort(live.begin(), live.end(),
              [](const Worker* a, const Worker* b) { return a->spawned_ms > b->spawned_ms; });
    for (size_t i = 0; live.size() - i > count; ++i) drain_worker(*live[i], "worker count lowered");
    respawn_missing();
    update_status();
    return {};
}

void Master::reopen_logs() {
    log::info("reopening log files");
    for (auto& [pid, w] : workers_) ::kill(pid, SIGUSR1);
}

void Master::stop(bool fast) {
    if (stopping_ && (!fast || fast_stop_)) return;
    const bool first = !stopping_;
    stopping_ = true;
    fast_stop_ = fast;
    if (first) {
        log::info(fast ? "fast stop" : "graceful stop", ": ", workers_.size(), " worker(s) to end");
        notify::stopping(fast ? "stopping" : "stopping: draining connections");
    }
    const uint64_t bound =
        fast ? kFastStopMs : static_cast<uint64_t>(config_.graceful_timeout.count()) + kKillGraceMs;
    stop_deadline_ms_ = uv_now(loop_) + bound;
    starting_generation_ = 0;
    for (auto& [pid, w] : workers_) {
        if (fast) {
            ::kill(pid, SIGQUIT);
            w->phase = Phase::draining;
        } else {
            drain_worker(*w, "stopping");
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

void Master::finish_stop_if_done() {
    if (!stopping_ || !workers_.empty()) return;
    log::info("all workers have exited");
    uv_stop(loop_);
}

void Master::forget_empty_generations() {
    for (auto it = generations_.begin(); it != generations_.end();) {
        const uint64_t g = it->first;
        if (g != current_generation_ && g != starting_generation_ && count_workers(g, false) == 0)
            it = generations_.erase(it);
        else
            ++it;
    }
}

void Master::tick() {
    const uint64_t now = uv_now(loop_);
    if (starting_generation_ != 0 && now >= starting_deadline_ms_)
        fail_generation("generation " + std::to_string(starting_generation_) +
                        " did not start accepting within " +
                        std::to_string(kStartupTimeoutMs / 1000) + " s");
    for (auto& [pid, w] : workers_) {
        if (w->kill_deadline_ms && now >= w->kill_deadline_ms) {
            log::warn("worker ", pid, " is still draining past graceful_timeout; killing it");
            ::kill(pid, SIGKILL);
            w->kill_deadline_ms = 0;
            continue;
        }
        if (w->phase == Phase::starting) continue;
        // A worker that has not answered a ping for hang_timeout has a loop that no longer
        // turns (or a broken link): kill it. Its exit is handled like a crash.
        if (now > w->last_alive_ms + static_cast<uint64_t>(config_.hang_timeout.count())) {
            log::error("worker ", pid, " has not made progress for ",
                       (now - w->last_alive_ms) / 1000, " s; killing it");
            ::kill(pid, SIGKILL);
            w->last_alive_ms = now;
            continue;
        }
        if (auto st = worker_message::send(w->ipc.get(), worker_message::Type::ping,
                                           worker_message::encode_u64(++ping_sequence_));
            !st)
            log::debug("worker ", pid, ": ", st.error());
    }
    if (stopping_) {
        if (now >= stop_deadline_ms_ && !workers_.empty()) {
            log::warn(workers_.size(),
                      " worker(s) still running at the stop deadline; killing them");
            for (auto& [pid, w] : workers_) ::kill(pid, SIGKILL);
            stop_deadline_ms_ = now + kFastStopMs;
        } else if (!workers_.empty()) {
            // Tell systemd we are making progress, so its stop timeout follows our own bound.
            notify::extend_timeout((stop_deadline_ms_ - now + kFastStopMs) * 1000);
        }
    }
    update_status();
}

std::string Master::status_line() const {
    unsigned serving = 0, draining = 0, starting = 0;
    uint64_t requests = 0, conns = 0;
    for (const auto& [pid, w] : workers_) {
        if (w->phase == Phase::serving) ++serving;
        if (w->phase == Phase::draining) ++draining;
        if (w->phase == Phase::starting) ++starting;
        const WorkerSlot& s = stats_.slot(static_cast<size_t>(w->slot));
        requests += s.requests.load(std::memory_order_relaxed);
        conns += s.connections_active.load(std::memory_order_relaxed);
    }
    std::string line = "generation " + std::to_string(current_generation_) + ": " +
                       std::to_string(serving) + " serving";
    if (starting) line += ", " + std::to_string(starting) + " starting";
    if (draining) line += ", " + std::to_string(draining) + " draining";
    line += "; " + std::to_string(conns) + " connections, " + std::to_string(requests) +
            " requests by live workers";
    return line;
}

void Master::update_status() {
    if (current_generation_ == 0 || stopping_) return;
    std::string line = status_line();
    if (line == last_status_) return;
    last_status_ = line;
    notify::status(line);
}

Master::Info Master::info() const {
    Info i;
    i.pid = pid_;
    i.started_unix_ms = started_unix_ms_;
    i.generation = current_generation_;
    i.config_file = options_.config_path;
    i.listeners = listeners_.describe();
    i.socket_activated = listeners_.from_systemd();
    i.reloading = starting_generation_ != 0;
    i.stopping = stopping_;
    i.target_workers = target_workers_;
    i.reloads_ok = reloads_ok_;
    i.reloads_failed = reloads_failed_;
    i.last_reload_error = last_reload_error_;
    i.exited = exited_;
    for (const auto& [pid, w] : workers_) {
        WorkerState st = w->phase == Phase::starting  ? WorkerState::starting
                         : w->phase == Phase::serving ? WorkerState::serving
                                                      : WorkerState::draining;
        i.workers.push_back({pid, w->slot, w->generation, st, w->spawned_unix_ms});
    }
    return i;
}

}  // namespace minid
