// Runs a function in a forked child whose affinity is one CPU (as `taskset -c N` would set it),
// so tests see the real sched_getaffinity-based counts under a restriction.
#pragma once

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <optional>

namespace minid {

// The CPU the child is pinned to: one this process may run on now.
inline int some_allowed_cpu() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) return cpu;
    return 0;
}

// fn's result (0..255) as computed in a child restricted to one CPU; nullopt if the child could
// not be restricted or did not exit normally.
inline std::optional<int> in_one_cpu_child(const std::function<int()>& fn) {
    const int cpu = some_allowed_cpu();
    const pid_t pid = ::fork();
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (::sched_setaffinity(0, sizeof one, &one) != 0) ::_exit(255);
        ::_exit(fn() & 0xff);
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) == 255)
        return std::nullopt;
    return WEXITSTATUS(status);
}

}  // namespace minid
