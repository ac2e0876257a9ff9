// Master: supervises generations of worker processes — start, reload (new generation, then
// drain the old), crash recovery with backoff, hang detection, graceful and fast stop — and
// reports to systemd. Single-threaded, on its own libuv loop.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/control_protocol.hpp"
#include "common/stats_segment.hpp"
#include "common/unique_fd.hpp"
#include "daemon/control_server.hpp"
#include "daemon/listen_sockets.hpp"
#include "worker/uv_handle.hpp"

namespace minid {

struct MasterOptions {
    std::string config_path;    // "" = embedded defaults
    ConfigOverrides overrides;  // command-line settings, re-applied on every reload
    Config config;              // already loaded and validated
};

class Master {
  public:
    using ReloadDone = std::function<void(const Status&)>;

    struct WorkerView {
        pid_t pid;
        int slot;
        uint64_t generation;
        WorkerState state;
        uint64_t spawned_unix_ms;
    };
    struct Info {
        pid_t pid;
        uint64_t started_unix_ms;
        uint64_t generation;      // the serving generation
        std::string config_file;  // "" = embedded defaults
        std::vector<std::string> listeners;
        bool socket_activated;
        bool reloading;
        bool stopping;
        unsigned target_workers;
        uint64_t reloads_ok;
        uint64_t reloads_failed;
        std::string last_reload_error;  // "" when the last reload worked
        std::vector<WorkerView> workers;
        control::ExitedTotals exited;  // the final counters of workers that have exited
    };

    static Result<std::unique_ptr<Master>> create(uv_loop_t* loop, MasterOptions options);
    ~Master();

    // Starts generation 1 and runs the loop until stopped. Returns the process exit code.
    int run();

    // --- control API (signals and the control socket both end up here) ---
    // Re-reads the config and replaces the workers; `done` runs when the new generation serves
    // or the reload failed (old workers keep serving). Requests during a reload are coalesced
    // into one more reload after it, so every caller sees a reload that started after its ask.
    void reload(ReloadDone done);
    void stop(bool fast);
    void reopen_logs();
    Status set_workers(unsigned count);

    Info info() const;
    const StatsSegment& stats() const { return stats_; }
    const Config& config() const { return config_; }
    uv_loop_t* loop() const { return loop_; }

  private:
    enum class Phase { starting, serving, draining };
    struct Worker {
        pid_t pid = -1;
        int slot = -1;
        uint64_t generation = 0;
        Phase phase = Phase::starting;
        uint64_t spawned_ms = 0;
        uint64_t spawned_unix_ms = 0;
        uint64_t kill_deadline_ms = 0;  // SIGKILL after this (0 = none)
        uint64_t last_alive_ms = 0;     // spawn, ready or its last pong
        UniqueFd ipc;
        UvHandle<uv_poll_t> poll;
        Master* master = nullptr;
    };
    struct Generation {
        uint64_t number = 0;
        Config config;
        UniqueFd config_fd;  // sealed memfd with config.serialize()
        unsigned target = 0;
    };

    Master(uv_loop_t* loop, MasterOptions options, ListenSockets listeners, StatsSegment stats);

    Status launch_generation(Config config);
    Status spawn_into(Generation& gen);
    void on_worker_message(Worker& w);
    void on_worker_ready(Worker& w);
    void on_worker_exit(pid_t pid, int wait_status);
    void commit_generation();
    void fail_generation(const std::string& why);
    void finish_reload(const Status& result);
    void begin_reload();
    void start_queued_reload();
    void drain_worker(Worker& w, const char* why);
    void schedule_respawn();
    void respawn_missing();
    void reap_children();
    void tick();
    void update_status();
    std::string status_line() const;
    void enforce_draining_limit();
    void forget_empty_generations();
    void finish_stop_if_done();
    unsigned count_workers(uint64_t generation, bool ready_only) const;
    void watch_signals();

    uv_loop_t* loop_;
    MasterOptions options_;
    Config config_;  // of the serving generation
    ListenSockets listeners_;
    StatsSegment stats_;
    std::string executable_;
    pid_t pid_;
    uint64_t started_unix_ms_;

    std::map<pid_t, std::unique_ptr<Worker>> workers_;
    std::map<uint64_t, std::unique_ptr<Generation>> generations_;
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
    control::ExitedTotals exited_;
    std::string last_reload_error_;

    uint64_t ping_sequence_ = 0;
    unsigned consecutive_crashes_ = 0;
    bool respawn_pending_ = false;
    bool stopping_ = false;
    bool fast_stop_ = false;
    uint64_t stop_deadline_ms_ = 0;
    int exit_code_ = 0;
    std::string last_status_;

    UvHandle<uv_timer_t> tick_timer_;
    UvHandle<uv_timer_t> respawn_timer_;
    UvHandle<uv_timer_t> watchdog_timer_;
    std::vector<UvHandle<uv_signal_t>> signals_;
    std::unique_ptr<ControlServer> control_;
};

}  // namespace minid
