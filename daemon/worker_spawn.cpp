// spawn_worker implementation. Everything the child needs is prepared before fork(), so the
// child only runs async-signal-safe calls (fcntl, dup2, execve) before exec.
#include "daemon/worker_spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string_view>

#include "common/build_info.hpp"
#include "common/log.hpp"
#include "common/worker_protocol.hpp"

extern char** environ;

namespace minid {
namespace {

namespace wp = worker_protocol;

bool inherited_by_workers_not(std::string_view entry) {
    // Variables that belong to the master alone: systemd's notify/watchdog links (only the main
    // process may talk to systemd) and the socket-activation set, which we rebuild per worker.
    for (std::string_view p : {"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=",
                               "WATCHDOG_USEC=", "WATCHDOG_PID="})
        if (entry.starts_with(p)) return true;
    return false;
}

// Writes a decimal number into buf without allocating (for LISTEN_PID in the child).
void format_pid(char* buf, pid_t pid) {
    char tmp[16];
    int n = 0;
    auto v = static_cast<unsigned long>(pid);
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v && n < 15);
    for (int i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
}

}  // namespace

std::string current_executable() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "/usr/sbin/minid";
    std::string path(buf, static_cast<size_t>(n));
    constexpr std::string_view kDeleted = " (deleted)";
    if (path.size() > kDeleted.size() && path.ends_with(kDeleted))
        path.resize(path.size() - kDeleted.size());
    return path;
}

Result<SpawnedWorker> spawn_worker(const SpawnRequest& req) {
    const auto& listeners = *req.listeners;
    const int n = static_cast<int>(listeners.size());
    const int config_target = 3 + n;
    const int ipc_target = config_target + 1;
    const int stats_target = ipc_target + 1;
    const int high_water = stats_target + 1;  // sources are first moved above every target

    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return make_error(sys_error("socketpair", "worker link", errno));
    UniqueFd master_end(pair[0]);
    UniqueFd worker_end(pair[1]);

    std::vector<std::string> args = {
        req.executable,
        std::string(wp::kWorkerFlag),
        std::string(wp::kArgProtocol) + std::to_string(build::worker_protocol),
        std::string(wp::kArgSlot) + std::to_string(req.slot),
        std::string(wp::kArgGeneration) + std::to_string(req.generation),
        std::string(wp::kArgConfigFd) + std::to_string(config_target),
        std::string(wp::kArgIpcFd) + std::to_string(ipc_target),
        std::string(wp::kArgStatsFd) + std::to_string(stats_target),
    };
    if (req.acme_agent)
        args = {req.executable,
                std::string(wp::kArgProtocol) + std::to_string(build::worker_protocol),
                std::string(wp::kArgConfigFd) + std::to_string(config_target),
                std::string(wp::kArgIpcFd) + std::to_string(ipc_target)};
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e)
        if (!inherited_by_workers_not(*e)) env.emplace_back(*e);
    env.push_back("LISTEN_FDS=" + std::to_string(n));
    std::string names = "LISTEN_FDNAMES=";
    for (int i = 0; i < n; ++i) {
        if (i) names += ':';
        // fd names are ':'-separated and must be printable ASCII: "127.0.0.1:80" becomes
        // "127.0.0.1_80" here (the worker only uses names in log lines).
        for (char ch : listeners[static_cast<size_t>(i)].name)
            names += (ch == ':' || ch < 0x21 || ch > 0x7e) ? '_' : ch;
    }
    env.push_back(names);
    env.push_back("LISTEN_PID=" + std::string(24, ' '));
    const size_t pid_index = env.size() - 1;

    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    char* pid_digits = env[pid_index].data() + std::strlen("LISTEN_PID=");

    std::vector<int> sources;
    for (const auto& l : listeners) sources.push_back(l.fd.get());
    sources.push_back(req.config_fd);
    sources.push_back(worker_end.get());
    sources.push_back(req.stats_fd);

    // Every signal stays blocked from before fork() until the worker has its own handlers:
    // a signal arriving between fork and exec would otherwise run the master's libuv handler in
    // the child and be lost, and one arriving before the worker's handlers exist would hit the
    // default action. Blocked, it stays pending across exec and reaches the worker's handler.
    sigset_t all, saved;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, &saved);
    pid_t pid = ::fork();
    if (pid != 0) ::sigprocmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) return make_error(sys_error("fork", "worker", errno));
    if (pid == 0) {
        // Child. Move every source above the targets first so no dup2 overwrites a source
        // that is still needed, then put each at its target (dup2 clears close-on-exec).
        int moved[1024];
        const int count = static_cast<int>(sources.size());
        if (count > 1024) _exit(127);
        for (int i = 0; i < count; ++i) {
            moved[i] = sources[static_cast<size_t>(i)] < 0
                           ? -1
                           : ::fcntl(sources[static_cast<size_t>(i)], F_DUPFD_CLOEXEC, high_water);
            if (sources[static_cast<size_t>(i)] >= 0 && moved[i] < 0) _exit(127);
        }
        for (int i = 0; i < count; ++i) {
            if (moved[i] >= 0 && ::dup2(moved[i], 3 + i) < 0) _exit(127);
        }
        format_pid(pid_digits, ::getpid());
        ::execve(argv[0], argv.data(), envp.data());
        const char msg[] = "<3>minid: execve of the worker binary failed\n";
        ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)ignored;
        _exit(127);
    }
    return SpawnedWorker{pid, std::move(master_end)};
}

}  // namespace minid
