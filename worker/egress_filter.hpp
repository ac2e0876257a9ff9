// Keeps a worker from opening IP sockets when its configuration needs none: a seccomp filter
// (libseccomp) makes socket(AF_INET or AF_INET6, ...) and io_uring_setup() fail with EPERM.
// systemd's IPAddressDeny= applies to the whole unit, and the ACME agent must reach its CA, so the
// workers are fenced in from inside. Workers accept on the listening sockets they inherit (accept4,
// not socket) and reach unix-socket upstreams with AF_UNIX: both keep working. Only a TCP upstream
// needs IP.
#pragma once

#include "common/config.hpp"
#include "common/result.hpp"

namespace minid {

// True when an [upstream] of `config` has a server reached over TCP (HOST:PORT).
bool needs_ip_sockets(const Config& config);

// Installs the filter in this process, on every thread (irreversible, and inherited by any
// child). Sets no_new_privs, which a worker never needs to be without.
Status deny_ip_sockets();

}  // namespace minid
