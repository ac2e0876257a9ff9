// Master: the I/O shell around the Supervisor state machine — signals, worker processes and
// their links, the stats segment, the control socket, sd_notify — on its own libuv loop.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/control_protocol.hpp"
#include "common/stats_segment.hpp"
#include "common/unique_fd.hpp"
#include "daemon/acme_agent_process.hpp"
#include "daemon/control_server.hpp"
#include "daemon/listen_sockets.hpp"
#include "daemon/reexec.hpp"
#include "daemon/session_ticket_rotation.hpp"
#include "daemon/supervisor.hpp"
#include "worker/uv_handle.hpp"

namespace minid {

struct MasterOptions {
    std::string config_path;        // "" = embedded defaults
    ConfigOverrides overrides;      // command-line settings, re-applied on every reload
    Config config;                  // already loaded and validated (ignored when resuming)
    std::vector<std::string> args;  // argv[1..], to re-execute the master with
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
        control::ExitedTotals exited;        // the final counters of workers that have exited
        std::string acme_status;             // the ACME agent's last report (JSON), "" = none
        std::vector<std::string> upstreams;  // [upstream] names in config order
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
    const Config& config() const { return supervisor_->config(); }

  private:
    // What the master holds for one live worker; its supervision state is in Supervisor.
    struct Worker {
        pid_t pid = -1;
        int slot = -1;
        uint64_t spawned_unix_ms = 0;
        UniqueFd ipc;
        UvHandle<uv_poll_t> poll;
        Master* master = nullptr;
    };
    class Host;

    Master(uv_loop_t* loop, MasterOptions options, ListenSockets listeners, StatsSegment stats);

    Result<pid_t> spawn(uint64_t generation, const Config& config, unsigned target);
    void watch_link(Worker& w);
    Result<Config> load_reload_config();
    // What a re-exec hands to the new image (daemon/reexec.hpp).
    Result<reexec::Handover> make_handover() const;
    // In a master re-executed by reexec(): takes over its previous image's state.
    Status resume(reexec::Handover handover);
    void on_worker_message(Worker& w);
    // Session-ticket keys: to one worker (at spawn), and a rotation sent to every live worker.
    void send_ticket_keys(Worker& w);
    void rotate_ticket_keys();
    // (Re)arms the rotation timer when the serving config's period differs from the armed one.
    void arm_ticket_rotation(const Config& config);
    void reap_children();
    void update_status();
    std::string status_line() const;
    void watch_signals();

    uv_loop_t* loop_;
    MasterOptions options_;
    ListenSockets listeners_;
    StatsSegment stats_;
    std::string executable_;
    std::string acme_agent_path_;  // minid-acme-agent for the serving config, "" without tls = auto
    pid_t pid_;
    uint64_t started_unix_ms_;

    std::map<pid_t, std::unique_ptr<Worker>> workers_;
    // The certificates and keys of the latest loaded config (encode_tls_bundle), sealed with it.
    std::string tls_bundle_;
    std::map<uint64_t, UniqueFd> config_fds_;  // per generation: sealed memfd, config.serialize()
    // In memory only; survives reloads and (handed over) a re-exec.
    std::optional<SessionTicketRotation> ticket_keys_;
    uint64_t ticket_rotation_ms_ = 0;  // the period the timer is armed with; 0 = not armed
    control::ExitedTotals exited_;
    uint64_t ping_sequence_ = 0;
    std::string last_status_;

    // Handed over by a re-exec and taken by run(): the control listener and waiting clients.
    bool resumed_ = false;  // until the reload this image continues has loaded the config
    int adopted_control_fd_ = -1;
    std::vector<int> adopted_waiter_fds_;

    std::unique_ptr<Host> host_;
    std::unique_ptr<Supervisor> supervisor_;
    UvHandle<uv_timer_t> tick_timer_;
    UvHandle<uv_timer_t> respawn_timer_;
    UvHandle<uv_timer_t> watchdog_timer_;
    UvHandle<uv_timer_t> ticket_timer_;
    std::vector<UvHandle<uv_signal_t>> signals_;
    std::unique_ptr<ControlServer> control_;
    std::unique_ptr<AcmeAgentProcess> acme_;  // runs the ACME agent while a site has tls = auto
};

}  // namespace minid
