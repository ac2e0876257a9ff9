// Master re-exec implementation: the handover's JSON form, the binary-changed test, the probe
// run and the execve itself.
#include "daemon/reexec.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/build_info.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/sealed_memfd.hpp"
#include "common/worker_protocol.hpp"
#include "daemon/acme_agent_path.hpp"
#include "daemon/cli.hpp"
#include "daemon/worker_spawn.hpp"

extern char** environ;

namespace minid::reexec {
namespace {

using Json = nlohmann::json;

constexpr auto kProbeTimeout = std::chrono::seconds(5);

const char* phase_name(WorkerPhase p) {
    switch (p) {
        case WorkerPhase::starting:
            return "starting";
        case WorkerPhase::serving:
            return "serving";
        case WorkerPhase::draining:
            return "draining";
    }
    return "?";
}

Result<WorkerPhase> parse_phase(const std::string& s) {
    if (s == "starting") return WorkerPhase::starting;
    if (s == "serving") return WorkerPhase::serving;
    if (s == "draining") return WorkerPhase::draining;
    return make_error("unknown worker phase '" + s + "'");
}

Json counters_json(const control::ExitedTotals& c) {
    return Json{
        {"workers", c.workers},
        {"requests", c.requests},
        {"connections_total", c.connections_total},
        {"bytes_in", c.bytes_in},
        {"bytes_out", c.bytes_out},
        {"status_class", Json::array({c.status_class[0], c.status_class[1], c.status_class[2],
                                      c.status_class[3], c.status_class[4]})},
        {"tls_handshakes", c.tls_handshakes},
        {"tls_resumed", c.tls_resumed},
        {"tls_failures",
         std::vector<uint64_t>(std::begin(c.tls_failures), std::end(c.tls_failures))}};
}

void counters_from(const Json& j, control::ExitedTotals& c) {
    c.workers = j.at("workers").get<uint64_t>();
    c.requests = j.at("requests").get<uint64_t>();
    c.connections_total = j.at("connections_total").get<uint64_t>();
    c.bytes_in = j.at("bytes_in").get<uint64_t>();
    c.bytes_out = j.at("bytes_out").get<uint64_t>();
    const auto& sc = j.at("status_class");
    for (size_t i = 0; i < 5; ++i) c.status_class[i] = sc.at(i).get<uint64_t>();
    // Absent when handed over by an image without TLS counters.
    c.tls_handshakes = j.value("tls_handshakes", uint64_t{0});
    c.tls_resumed = j.value("tls_resumed", uint64_t{0});
    if (j.contains("tls_failures")) {
        const auto f = j.at("tls_failures").get<std::vector<uint64_t>>();
        for (size_t i = 0; i < kTlsFailureKinds && i < f.size(); ++i) c.tls_failures[i] = f[i];
    }
}

std::string describe_wait(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
    return "ended with wait status " + std::to_string(status);
}

Status set_cloexec(int fd, bool on) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0)
        return make_error(sys_error("fcntl(F_GETFD)", "fd " + std::to_string(fd), errno));
    const int want = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    if (want != flags && ::fcntl(fd, F_SETFD, want) != 0)
        return make_error(sys_error("fcntl(F_SETFD)", "fd " + std::to_string(fd), errno));
    return {};
}

std::vector<char*> c_argv(std::vector<std::string>& args) {
    std::vector<char*> v;
    for (auto& a : args) v.push_back(a.data());
    v.push_back(nullptr);
    return v;
}

}  // namespace

std::vector<int> Handover::fds() const {
    std::vector<int> v;
    for (const auto& l : listeners) v.push_back(l.fd);
    v.push_back(stats_fd);
    if (control_fd >= 0) v.push_back(control_fd);
    for (int fd : reload_waiter_fds) v.push_back(fd);
    for (const auto& w : workers) v.push_back(w.link_fd);
    return v;
}

std::string encode(const Handover& h) {
    Json listeners = Json::array();
    for (const auto& l : h.listeners)
        listeners.push_back(
            {{"fd", l.fd}, {"name", l.name}, {"address", l.address}, {"bound", l.bound}});
    Json workers = Json::array();
    for (size_t i = 0; i < h.supervisor.workers.size(); ++i) {
        const auto& s = h.supervisor.workers[i];
        const auto& w = h.workers.at(i);
        workers.push_back({{"pid", s.pid},
                           {"generation", s.generation},
                           {"phase", phase_name(s.phase)},
                           {"age_ms", s.age_ms},
                           {"kill_in_ms", s.kill_in_ms},
                           {"kill_overdue", s.kill_overdue},
                           {"slot", w.slot},
                           {"link_fd", w.link_fd},
                           {"spawned_unix_ms", w.spawned_unix_ms}});
    }
    const auto& s = h.supervisor;
    Json j{{"version", h.version},
           {"started_unix_ms", h.started_unix_ms},
           {"serving_config", h.serving_config},
           {"from_systemd", h.from_systemd},
           {"listeners", listeners},
           {"stats_fd", h.stats_fd},
           {"control_fd", h.control_fd},
           {"reload_waiter_fds", h.reload_waiter_fds},
           {"exited", counters_json(h.exited)},
           {"last_generation", s.last_generation},
           {"serving_generation", s.serving_generation},
           {"target_workers", s.target_workers},
           {"reloads_ok", s.reloads_ok},
           {"reloads_failed", s.reloads_failed},
           {"last_reload_error", s.last_reload_error},
           {"consecutive_crashes", s.consecutive_crashes},
           {"workers", workers},
           {"session_ticket_keys",
            std::vector<uint8_t>(h.session_ticket_keys.begin(), h.session_ticket_keys.end())}};
    return j.dump();
}

Result<Handover> decode(std::string_view text) {
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error("re-exec state: not a JSON object");
    try {
        Handover h;
        h.version = j.at("version").get<int>();
        if (h.version != kStateVersion)
            return make_error("re-exec state: version " + std::to_string(h.version) +
                              ", this binary reads version " + std::to_string(kStateVersion));
        h.started_unix_ms = j.at("started_unix_ms").get<uint64_t>();
        h.serving_config = j.at("serving_config").get<std::string>();
        h.from_systemd = j.at("from_systemd").get<bool>();
        for (const auto& l : j.at("listeners"))
            h.listeners.push_back({l.at("fd").get<int>(), l.at("name").get<std::string>(),
                                   l.at("address").get<std::string>(),
                                   l.at("bound").get<std::string>()});
        h.stats_fd = j.at("stats_fd").get<int>();
        h.control_fd = j.at("control_fd").get<int>();
        h.reload_waiter_fds = j.at("reload_waiter_fds").get<std::vector<int>>();
        counters_from(j.at("exited"), h.exited);
        auto& s = h.supervisor;
        s.last_generation = j.at("last_generation").get<uint64_t>();
        s.serving_generation = j.at("serving_generation").get<uint64_t>();
        s.target_workers = j.at("target_workers").get<unsigned>();
        s.reloads_ok = j.at("reloads_ok").get<uint64_t>();
        s.reloads_failed = j.at("reloads_failed").get<uint64_t>();
        s.last_reload_error = j.at("last_reload_error").get<std::string>();
        s.consecutive_crashes = j.at("consecutive_crashes").get<unsigned>();
        for (const auto& w : j.at("workers")) {
            Supervisor::Snapshot::Worker a;
            a.pid = w.at("pid").get<pid_t>();
            a.generation = w.at("generation").get<uint64_t>();
            auto phase = parse_phase(w.at("phase").get<std::string>());
            if (!phase) return make_error("re-exec state: " + phase.error());
            a.phase = *phase;
            a.age_ms = w.at("age_ms").get<uint64_t>();
            a.kill_in_ms = w.at("kill_in_ms").get<uint64_t>();
            a.kill_overdue = w.at("kill_overdue").get<bool>();
            s.workers.push_back(a);
            h.workers.push_back({a.pid, w.at("slot").get<int>(), w.at("link_fd").get<int>(),
                                 w.at("spawned_unix_ms").get<uint64_t>()});
        }
        if (j.contains("session_ticket_keys")) {
            const auto bytes = j.at("session_ticket_keys").get<std::vector<uint8_t>>();
            h.session_ticket_keys.assign(bytes.begin(), bytes.end());
        }
        return h;
    } catch (const Json::exception& e) {
        return make_error(std::string("re-exec state: ") + e.what());
    }
}

bool binary_replaced(const std::string& path) {
    struct stat running {};
    struct stat on_disk {};
    if (::stat("/proc/self/exe", &running) != 0) return false;
    if (::stat(path.c_str(), &on_disk) != 0) return false;
    return running.st_dev != on_disk.st_dev || running.st_ino != on_disk.st_ino;
}

std::vector<std::string> environment_with_state(int state_fd) {
    const std::string prefix = std::string(kStateEnv) + "=";
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e)
        if (!std::string_view(*e).starts_with(prefix)) env.emplace_back(*e);
    env.push_back(prefix + std::to_string(state_fd));
    return env;
}

Status probe(const std::string& path, const std::vector<std::string>& args,
             const Handover& handover) {
    std::vector<std::string> argv = {path, std::string(kProbeFlag) + std::to_string(kStateVersion) +
                                               "," + std::to_string(build::worker_protocol)};
    argv.insert(argv.end(), args.begin(), args.end());
    auto cargv = c_argv(argv);
    // The probe reads the very state the new master would get (without its descriptors).
    auto state = make_sealed_memfd("minid-reexec-probe", encode(handover), true);
    if (!state) return make_error(state.error());
    auto env = environment_with_state(state->get());
    auto cenv = c_argv(env);
    sigset_t all, saved;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, &saved);
    const pid_t pid = ::fork();
    if (pid == 0) {
        // The probe gets the master's environment and stderr, so its complaint reaches the log.
        ::execve(cargv[0], cargv.data(), cenv.data());
        _exit(127);
    }
    ::sigprocmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) return make_error(sys_error("fork", "re-exec probe", errno));
    // A short blocking wait: the probe only parses its arguments and the config. The master's
    // own SIGCHLD handler ignores a pid it does not know, so reaping it here is safe.
    const auto deadline = std::chrono::steady_clock::now() + kProbeTimeout;
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR)
            return make_error(sys_error("waitpid", "re-exec probe", errno));
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return make_error("the new binary " + path +
                              " did not answer the re-exec probe within " +
                              std::to_string(kProbeTimeout.count()) + " s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    std::string why = describe_wait(status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) why += " (it could not be executed)";
    if (WIFEXITED(status) && WEXITSTATUS(status) == worker_protocol::kExitProtocolMismatch)
        why += " (it speaks another protocol)";
    return make_error("the new binary " + path + " cannot take over as master: its re-exec probe " +
                      why + "; restart minid to finish the upgrade");
}

int run_probe(int argc, char** argv) {
    std::string_view flag = argv[1];
    flag.remove_prefix(kProbeFlag.size());
    int state = -1, protocol = -1;
    const size_t comma = flag.find(',');
    if (comma != std::string_view::npos) {
        std::from_chars(flag.data(), flag.data() + comma, state);
        std::from_chars(flag.data() + comma + 1, flag.data() + flag.size(), protocol);
    }
    if (state != kStateVersion || protocol != build::worker_protocol) {
        std::fprintf(stderr,
                     "minid %s: re-exec probe: the running master hands over state version %d "
                     "and speaks worker protocol %d; this binary reads state version %d and "
                     "speaks worker protocol %d\n",
                     build::version, state, protocol, kStateVersion, build::worker_protocol);
        return worker_protocol::kExitProtocolMismatch;
    }
    auto handover = take_handover();
    if (!handover || !*handover) {
        std::fprintf(stderr, "minid: re-exec probe: cannot read the master's state: %s\n",
                     handover ? "none was passed" : handover.error().c_str());
        return 1;
    }
    std::vector<char*> rest = {argv[0]};
    for (int i = 2; i < argc; ++i) rest.push_back(argv[i]);
    auto cli = parse_command_line(static_cast<int>(rest.size()), rest.data());
    if (!cli) {
        std::fprintf(stderr, "minid: re-exec probe: %s\n", cli.error().c_str());
        return 1;
    }
    auto config = load_config(cli->config_path, cli->overrides);
    if (!config) {
        std::fprintf(stderr, "minid: re-exec probe: configuration is invalid:\n%s\n",
                     config.error().c_str());
        return 1;
    }
    if (config->acme_enabled()) {
        if (auto agent = find_acme_agent(current_executable()); !agent) {
            std::fprintf(stderr, "minid: re-exec probe: %s\n", agent.error().c_str());
            return 1;
        }
    }
    return 0;
}

Status exec_master(const std::string& path, const std::vector<std::string>& args,
                   const Handover& handover) {
    // Not close-on-exec: the new image reads it.
    auto memfd = make_sealed_memfd("minid-reexec", encode(handover), true);
    if (!memfd) return make_error(memfd.error());

    std::vector<std::string> argv = {path};
    argv.insert(argv.end(), args.begin(), args.end());
    auto cargv = c_argv(argv);
    auto env = environment_with_state(memfd->get());
    auto cenv = c_argv(env);
    const std::vector<int> keep = handover.fds();

    // Signals stay blocked across execve: one that arrives meanwhile (SIGCHLD of a worker, a
    // SIGTERM) stays pending until the new image has its handlers, as at first start-up.
    sigset_t all, saved;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, &saved);
    Status st;
    for (int fd : keep)
        if (st = set_cloexec(fd, false); !st) break;
    if (st) {
        ::execve(cargv[0], cargv.data(), cenv.data());
        st = make_error(sys_error("execve", path, errno));
    }
    for (int fd : keep) (void)set_cloexec(fd, true);
    ::sigprocmask(SIG_SETMASK, &saved, nullptr);
    return st;
}

Result<std::optional<Handover>> take_handover() {
    const char* env = std::getenv(kStateEnv);
    if (!env) return std::optional<Handover>();
    int fd = -1;
    const std::string_view v(env);
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), fd);
    ::unsetenv(kStateEnv);
    if (ec != std::errc() || p != v.data() + v.size() || fd < 0)
        return make_error(std::string("re-exec state: bad ") + kStateEnv);
    UniqueFd memfd(fd);
    std::string text;
    char buf[16384];
    for (off_t off = 0;;) {
        const ssize_t n = ::pread(memfd.get(), buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(sys_error("pread", "re-exec state memfd", errno));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        off += n;
    }
    auto h = decode(text);
    if (!h) return make_error(h.error());
    // Everything handed over is the master's alone again: workers get their fds explicitly.
    for (int kept : h->fds()) (void)set_cloexec(kept, true);
    return std::optional<Handover>(std::move(h).value());
}

}  // namespace minid::reexec
