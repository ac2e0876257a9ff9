// Master re-exec: when a reload finds that the file at the master's executable path is no
// longer the running image (a package upgrade), the master checks that the new binary can take
// over (a probe run), then execve()s it with the same PID, handing over its listening sockets,
// stats segment, control socket, worker links and state in a sealed memfd (JSON). Modelled on
// HAProxy's mworker_reexec.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/control_protocol.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "daemon/supervisor.hpp"

namespace minid::reexec {

// Version of the handover below; a new binary that cannot read it fails the probe.
inline constexpr int kStateVersion = 1;
// argv[1] of a probe run: "--reexec-probe=STATE_VERSION,WORKER_PROTOCOL", then the master's
// own arguments (so the probe also loads the config the new master will run).
inline constexpr std::string_view kProbeFlag = "--reexec-probe=";
// The environment variable that names the handover memfd in the re-executed master.
inline constexpr const char* kStateEnv = "MINID_REEXEC_STATE_FD";

struct Handover {
    struct Listener {
        int fd = -1;
        std::string name;
        std::string address;  // ListenAddress text ("" under socket activation)
        std::string bound;
    };
    struct Worker {
        pid_t pid = -1;
        int slot = -1;
        int link_fd = -1;
        uint64_t spawned_unix_ms = 0;
    };
    int version = kStateVersion;
    uint64_t started_unix_ms = 0;
    std::string serving_config;  // Config::serialize() of the serving generation
    bool from_systemd = false;
    std::vector<Listener> listeners;
    int stats_fd = -1;
    int control_fd = -1;                 // listening control socket (-1 = none)
    std::vector<int> reload_waiter_fds;  // control clients waiting for this reload's answer
    control::ExitedTotals exited;
    Supervisor::Snapshot supervisor;
    std::vector<Worker> workers;  // the master's side of each worker in supervisor.workers
    // encode_session_ticket_keys() of the master's keys, so tickets issued before the re-exec
    // keep resuming; "" from an image that had none (the new one makes fresh keys).
    std::string session_ticket_keys;

    // Every fd the new image must inherit.
    std::vector<int> fds() const;
};

std::string encode(const Handover& h);
Result<Handover> decode(std::string_view text);

// True when `path` no longer names the file this process runs (compares /proc/self/exe's
// device and inode with stat(path)). False when either cannot be read: then there is nothing
// to re-execute.
bool binary_replaced(const std::string& path);

// Runs `path --reexec-probe=... args...` with `handover` in a memfd named by kStateEnv, as the
// real exec would pass it, and waits (at most a few seconds) for it to exit 0. The error says
// what the probe said or how it ended.
Status probe(const std::string& path, const std::vector<std::string>& args,
             const Handover& handover);

// main() for a probe run: checks the versions, decodes the handover and loads the config named
// by the rest of argv. Adopts nothing.
int run_probe(int argc, char** argv);

// Writes the handover into a sealed memfd that survives execve and execve()s `path` with
// `args` (argv[1..]), keeping exactly the handover's fds open. Returns only on failure, with
// every fd's close-on-exec flag and the signal mask restored.
Status exec_master(const std::string& path, const std::vector<std::string>& args,
                   const Handover& handover);

// The environment for a new image: this one's, with kStateEnv set to `state_fd`.
std::vector<std::string> environment_with_state(int state_fd);

// In a master started by exec_master(): the handover (the variable and the memfd are
// consumed), or nullopt in a master started normally.
Result<std::optional<Handover>> take_handover();

}  // namespace minid::reexec
