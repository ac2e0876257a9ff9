// spawn_worker: fork+exec of the minid binary as a worker, with the listening sockets at fds 3..
// (LISTEN_FDS convention), the config memfd, the master link and the stats segment.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "daemon/listen_sockets.hpp"

namespace minid {

struct SpawnRequest {
    std::string executable;  // re-read at each spawn, so a reload runs an upgraded binary
    int slot = 0;
    uint64_t generation = 0;
    int config_fd = -1;
    int stats_fd = -1;
    const std::vector<ListenSocket>* listeners = nullptr;
    // The ACME agent instead of a worker (`executable` is then minid-acme-agent): no listeners,
    // slot or stats (acme/agent.hpp).
    bool acme_agent = false;
};

struct SpawnedWorker {
    pid_t pid = -1;
    UniqueFd ipc;  // master end of the SOCK_SEQPACKET pair
};

Result<SpawnedWorker> spawn_worker(const SpawnRequest& request);

// The path of the running binary, resolved once at start-up: after a package upgrade
// /proc/self/exe names the deleted old file, while this path names the new one.
std::string current_executable();

}  // namespace minid
