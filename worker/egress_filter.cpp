// The workers' seccomp filter against IP sockets; see egress_filter.hpp.
#include "worker/egress_filter.hpp"

#include <seccomp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

namespace minid {

bool needs_ip_sockets(const Config& config) {
    for (const UpstreamSettings& u : config.upstreams)
        for (const ListenAddress& a : u.servers)
            if (a.kind != ListenAddress::Kind::unix_path) return true;
    return false;
}

namespace {

// Threads of this process ("Threads:" in /proc/self/status); 0 if unknown.
int thread_count() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("Threads:")) return std::atoi(line.c_str() + 8);
    return 0;
}

}  // namespace

Status deny_ip_sockets() {
    struct Release {
        void operator()(void* ctx) const { seccomp_release(ctx); }
    };
    // Everything else is allowed: this filter adds one restriction to the unit's own
    // SystemCallFilter=, it does not replace it.
    std::unique_ptr<void, Release> ctx(seccomp_init(SCMP_ACT_ALLOW));
    if (!ctx) return make_error("seccomp_init failed (egress filter)");
    auto fail = [](const char* what, int rc) {
        return make_error(std::string(what) + " failed (egress filter): " + std::strerror(-rc));
    };
    // A worker has no threads (threads made later inherit the filter). Should one exist, the
    // filter must reach it too: TSYNC, which needs the seccomp() system call, where a lone
    // thread makes do with prctl(PR_SET_SECCOMP) (minid.service allows both).
    if (thread_count() != 1) {
        if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc != 0)
            return fail("seccomp_attr_set(TSYNC)", rc);
    }
    // The domain is an int: compare the low 32 bits only, as the kernel reads it, so that junk
    // in the upper half cannot slip past the rule.
    for (int family : {AF_INET, AF_INET6}) {
        if (int rc = seccomp_rule_add(
                ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, static_cast<scmp_datum_t>(family)));
            rc != 0)
            return fail("seccomp_rule_add(socket)", rc);
    }
    // io_uring's IORING_OP_SOCKET would make sockets without socket(); workers use no io_uring
    // (libuv falls back to epoll and threads when it cannot set one up).
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0);
        rc != 0)
        return fail("seccomp_rule_add(io_uring_setup)", rc);
    if (int rc = seccomp_load(ctx.get()); rc != 0) return fail("seccomp_load", rc);
    return {};
}

}  // namespace minid
