// The master/worker contract: how a worker is started (argv, fds, environment), what it says
// back over its IPC socket, and what its exit codes mean. Any change bumps build::worker_protocol.
#pragma once

#include <string_view>

namespace minid::worker_protocol {

// argv[1] of a worker process. The rest are "--name=value" pairs below.
inline constexpr std::string_view kWorkerFlag = "--worker";
// The ACME agent is the program minid-acme-agent (acme/agent.hpp) with --protocol, --config-fd
// and --ipc-fd. `minid --acme-agent ARGS` (what a master before that split runs, until the reload
// after a package upgrade re-executes it) executes minid-acme-agent ARGS.
inline constexpr std::string_view kAcmeAgentFlag = "--acme-agent";
inline constexpr std::string_view kArgProtocol = "--protocol=";
inline constexpr std::string_view kArgSlot = "--slot=";
inline constexpr std::string_view kArgGeneration = "--generation=";
inline constexpr std::string_view kArgConfigFd = "--config-fd=";  // memfd with Config::serialize()
inline constexpr std::string_view kArgIpcFd = "--ipc-fd=";        // SOCK_SEQPACKET to the master
inline constexpr std::string_view kArgStatsFd = "--stats-fd=";    // StatsSegment memfd
// Listening sockets arrive as fds 3.. with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, exactly as
// systemd passes them, so the same code path serves both.

// Messages on the link (both ways) are typed datagrams: see common/worker_message.hpp.

// Exit codes. Anything else (or a signal) is a crash and the master respawns the worker.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFatalConfig = 2;       // cannot run with this config: do not respawn
inline constexpr int kExitProtocolMismatch = 3;  // binary speaks another protocol: do not respawn

inline bool is_fatal_exit(int code) {
    return code == kExitFatalConfig || code == kExitProtocolMismatch;
}

}  // namespace minid::worker_protocol
