// The workers' egress filter: which configurations need IP sockets, and, in a forked child (the
// filter cannot be undone), that IP sockets fail with EPERM while unix sockets still work, that
// junk in the upper half of the domain argument does not get past, and that io_uring is closed.
#include "worker/egress_filter.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

namespace minid {
namespace {

Config with_upstreams(std::initializer_list<const char*> servers) {
    Config c;
    UpstreamSettings u;
    u.name = "app";
    for (const char* s : servers) u.servers.push_back(ListenAddress::parse(s).value());
    c.upstreams.push_back(u);
    return c;
}

TEST(EgressFilter, OnlyATcpUpstreamNeedsIpSockets) {
    EXPECT_FALSE(needs_ip_sockets(Config{}));
    EXPECT_FALSE(needs_ip_sockets(with_upstreams({"unix:/run/app/app.sock"})));
    EXPECT_TRUE(needs_ip_sockets(with_upstreams({"unix:/run/app/app.sock", "127.0.0.1:8000"})));
    EXPECT_TRUE(needs_ip_sockets(with_upstreams({"[::1]:8000"})));
}

std::string seccomp_mode() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("Seccomp:")) return line.substr(line.find_first_not_of(" \t", 8));
    return "?";
}

// Runs `check` in a child with the filter installed; the child's exit code is the first failed
// step (0 = all passed).
int in_filtered_child(int (*check)()) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (!deny_ip_sockets()) ::_exit(100);
        ::_exit(check());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

int denied(long domain) {
    errno = 0;
    const long fd = ::syscall(SYS_socket, domain, SOCK_STREAM, 0);
    if (fd >= 0) ::close(static_cast<int>(fd));
    return fd < 0 && errno == EPERM;
}

// Each failed step returns its number.
int checks_under_the_filter() {
    if (seccomp_mode() != "2") return 1;
    if (!denied(AF_INET)) return 2;
    if (!denied(AF_INET6)) return 3;
    // The kernel reads the domain as an int: AF_INET with junk above bit 31.
    if (!denied(static_cast<long>((1ULL << 32) | AF_INET))) return 4;
    const int u = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (u < 0) return 5;
    ::close(u);
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) != 0) return 6;
    ::close(pair[0]);
    ::close(pair[1]);
    errno = 0;
    if (::syscall(SYS_io_uring_setup, 1, nullptr) != -1 || errno != EPERM) return 7;
    return 0;
}

TEST(EgressFilter, IpSocketsFailWithEpermUnixSocketsWork) {
    EXPECT_EQ(in_filtered_child(checks_under_the_filter), 0);
    // The parent is untouched.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    ::close(fd);
}

}  // namespace
}  // namespace minid
