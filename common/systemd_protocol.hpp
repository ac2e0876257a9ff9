// The two systemd protocols minid speaks, implemented here instead of linking libsystemd:
// socket activation (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES: sd_listen_fds(3)) and service
// notification (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID: sd_notify(3)). systemd documents both
// as stable interfaces to be reimplemented freely; libsystemd brought libgcrypt, libgpg-error,
// liblzma, libzstd, liblz4 and libcap into the master and every worker (1.1 MiB of each
// worker's RSS, 124 KiB of it private) for these few calls.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace minid::systemd {

inline constexpr int kListenFdsStart = 3;  // SD_LISTEN_FDS_START

struct PassedSocket {
    int fd = -1;
    std::string name;  // from LISTEN_FDNAMES; "unknown" when it is absent, as systemd says
};

// sd_listen_fds_with_names(1, ...): the fds passed to this process, each made close-on-exec;
// none when LISTEN_PID names another process or the variables are absent. The three variables
// are removed from the environment in every case. An error for malformed variables.
Result<std::vector<PassedSocket>> take_listen_fds();

// sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0: a stream socket in the listening state.
bool is_listening_stream_socket(int fd);

// sd_notify(0, state): 0 when NOTIFY_SOCKET is not set, 1 when sent, or -errno.
int notify(const std::string& state);

// sd_watchdog_enabled(0, &usec): the interval in microseconds when WATCHDOG_USEC is set (and
// WATCHDOG_PID, if set, names this process); else 0.
uint64_t watchdog_usec();

}  // namespace minid::systemd
