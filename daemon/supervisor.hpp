// Supervisor: the master's decisions about worker processes, as a state machine without I/O —
// generations, start-up and reload (new generation, then drain the old), coalesced reloads,
// drain deadlines, crash backoff, hang kills, stop. Events come in as calls; actions go out
// through SupervisorHost, so unit tests drive it with a fake clock and a fake spawner.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"

namespace minid {

enum class WorkerPhase { starting, serving, draining };

// What the supervisor asks of the world. Master implements it with real processes, sd_notify
// and libuv timers.
class SupervisorHost {
  public:
    virtual ~SupervisorHost() = default;
    // Monotonic milliseconds.
    virtual uint64_t now_ms() = 0;
    // Starts one worker of `generation`, which runs `config`; `target` is the generation's
    // worker count. Its pid, or why it could not be started.
    virtual Result<pid_t> spawn(uint64_t generation, const Config& config, unsigned target) = 0;
    virtual void signal(pid_t pid, int signum) = 0;
    // Asks a serving or draining worker for a sign of life (answered by worker_alive()).
    virtual void ping(pid_t pid) = 0;
    // Re-reads and validates the config for a reload (and reports why not: the log line is the
    // host's, as it knows the file).
    virtual Result<Config> load_reload_config() = 0;
    // Calls respawn_due() after `delay_ms` (replacing an earlier request).
    virtual void arm_respawn_timer(uint64_t delay_ms) = 0;
    // The serving generation changed to one running `config`.
    virtual void serving_config_changed(const Config& config) = 0;
    // A generation that neither serves nor starts has no worker left: free what it holds.
    virtual void generation_gone(uint64_t generation) = 0;
    // systemd, through the host: READY=1 with STATUS=, RELOADING=1, STOPPING=1, EXTEND_TIMEOUT.
    virtual void notify_ready(const std::string& status) = 0;
    virtual void notify_reloading(const std::string& status) = 0;
    virtual void notify_stopping(const std::string& status) = 0;
    virtual void notify_extend_timeout(uint64_t usec) = 0;
    // The one-line summary for STATUS=.
    virtual std::string status_line() = 0;
    // Something a status line shows has changed.
    virtual void status_changed() = 0;
    // Stop is complete: every worker has exited.
    virtual void stopped() = 0;
};

class Supervisor {
  public:
    using ReloadDone = std::function<void(const Status&)>;

    enum class State {
        idle,       // start() not called yet
        starting,   // the first generation is starting
        serving,    // one generation serves
        reloading,  // a new generation starts while the old one serves
        stopping,   // draining (or fast-stopping) every worker
        stopped,    // every worker has exited after a stop
    };

    struct WorkerView {
        pid_t pid;
        uint64_t generation;
        WorkerPhase phase;
        uint64_t spawned_ms;
        uint64_t kill_deadline_ms;  // 0 = none
    };

    // Timings, as constants of the supervisor (tests use the same values).
    static constexpr uint64_t kStartupTimeoutMs = 15'000;  // a generation must be accepting by then
    static constexpr uint64_t kKillGraceMs = 5'000;        // after graceful_timeout, before SIGKILL
    static constexpr uint64_t kFastStopMs = 5'000;
    static constexpr uint64_t kCrashWindowMs = 10'000;  // dying younger = "crashed at start"
    static constexpr uint64_t kMaxBackoffMs = 30'000;

    // What a master hands to its re-executed self (see daemon/reexec.hpp): generation
    // numbering, counters and the live workers, which stay its children across execve().
    struct Snapshot {
        struct Worker {
            pid_t pid = -1;
            uint64_t generation = 0;
            WorkerPhase phase = WorkerPhase::starting;
            uint64_t age_ms = 0;        // since it was spawned
            uint64_t kill_in_ms = 0;    // drain deadline from now (0 = none)
            bool kill_overdue = false;  // the deadline has passed already
        };
        uint64_t last_generation = 0;
        uint64_t serving_generation = 0;
        unsigned target_workers = 1;
        uint64_t reloads_ok = 0;
        uint64_t reloads_failed = 0;
        std::string last_reload_error;
        unsigned consecutive_crashes = 0;
        std::vector<Worker> workers;
    };

    Supervisor(SupervisorHost& host, Config config);

    // --- events ---
    // Starts generation 1. An error when a worker cannot even be spawned.
    Status start();
    // Instead of start(), in a re-executed master: takes over the workers and numbering of the
    // previous image, whose serving generation ran this supervisor's config. Then serving.
    void adopt(const Snapshot& snapshot);
    // Only while serving (the moment a master re-executes itself).
    Snapshot snapshot() const;
    void worker_ready(pid_t pid);
    void worker_alive(pid_t pid);  // answered a ping
    void worker_exited(pid_t pid, int wait_status);
    void tick();  // about once a second: deadlines, hang checks, pings
    void respawn_due();
    // Re-reads the config and replaces the workers; `done` (may be empty) runs when the new
    // generation serves or the reload failed. Asks during a reload are coalesced into one more
    // reload after it, so every caller sees a reload that started after its ask.
    void reload(ReloadDone done);
    void stop(bool fast);
    Status set_workers(unsigned count);

    // --- queries ---
    State state() const { return state_; }
    bool stopping() const { return state_ == State::stopping || state_ == State::stopped; }
    bool reloading() const { return starting_generation_ != 0; }
    uint64_t serving_generation() const { return current_generation_; }
    uint64_t last_generation() const { return last_generation_; }
    const Config& config() const { return config_; }  // of the serving generation
    unsigned target_workers() const { return target_workers_; }
    uint64_t reloads_ok() const { return reloads_ok_; }
    uint64_t reloads_failed() const { return reloads_failed_; }
    const std::string& last_reload_error() const { return last_reload_error_; }
    int exit_code() const { return exit_code_; }
    unsigned consecutive_crashes() const { return consecutive_crashes_; }
    // Workers of the serving generation that are up (for the systemd watchdog).
    unsigned serving_workers() const;
    std::vector<WorkerView> workers() const;
    bool has_worker(pid_t pid) const { return workers_.count(pid) != 0; }

  private:
    struct Worker {
        pid_t pid = -1;
        uint64_t generation = 0;
        WorkerPhase phase = WorkerPhase::starting;
        uint64_t spawned_ms = 0;
        uint64_t kill_deadline_ms = 0;  // SIGKILL after this (0 = none)
        uint64_t last_alive_ms = 0;     // spawn, ready or its last pong
    };
    struct Generation {
        uint64_t number = 0;
        Config config;
        unsigned target = 0;
    };

    Status launch_generation(Config config);
    Status spawn_into(Generation& gen);
    void commit_generation();
    void fail_generation(const std::string& why);
    void begin_reload();
    void finish_reload(const Status& result);
    void start_queued_reload();
    void drain_worker(Worker& w, const char* why);
    void enforce_draining_limit();
    void schedule_respawn();
    void forget_empty_generations();
    void finish_stop_if_done();
    unsigned count_workers(uint64_t generation, bool ready_only) const;
    void set_state(State next);

    SupervisorHost& host_;
    State state_ = State::idle;
    Config config_;  // of the serving generation
    std::map<pid_t, Worker> workers_;
    std::map<uint64_t, Generation> generations_;
    uint64_t last_generation_ = 0;
    uint64_t current_generation_ = 0;   // serving (0 until the first one is up)
    uint64_t starting_generation_ = 0;  // being started by start-up or a reload (0 = none)
    uint64_t starting_deadline_ms_ = 0;
    unsigned target_workers_ = 1;

    std::vector<ReloadDone> reload_waiters_;  // for the reload in progress
    std::vector<ReloadDone> queued_waiters_;  // for the reload after it
    bool reload_queued_ = false;
    uint64_t reload_started_ms_ = 0;
    uint64_t reloads_ok_ = 0;
    uint64_t reloads_failed_ = 0;
    std::string last_reload_error_;

    unsigned consecutive_crashes_ = 0;
    bool respawn_pending_ = false;
    bool fast_stop_ = false;
    uint64_t stop_deadline_ms_ = 0;
    int exit_code_ = 0;
};

const char* to_string(Supervisor::State state);

}  // namespace minid
