// Worker process start-up: checks the protocol, reads the config the master validated, takes
// the inherited listeners and stats slot, and runs the Server on a fresh libuv loop.
#include "worker/worker_main.hpp"

#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "common/build_info.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/stats_segment.hpp"
#include "common/worker_protocol.hpp"
#include "worker/server.hpp"
#include "worker/transport/tls_bundle.hpp"

namespace minid {
namespace {

namespace wp = worker_protocol;

struct WorkerArgs {
    int protocol = -1;
    int slot = -1;
    long generation = 0;
    int config_fd = -1;
    int ipc_fd = -1;
    int stats_fd = -1;
};

bool take_int(std::string_view arg, std::string_view prefix, auto* out) {
    if (!arg.starts_with(prefix)) return false;
    arg.remove_prefix(prefix.size());
    auto [ptr, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), *out);
    return ec == std::errc() && ptr == arg.data() + arg.size();
}

Result<WorkerArgs> parse_args(int argc, char** argv) {
    WorkerArgs a;
    for (int i = 2; i < argc; ++i) {
        std::string_view s = argv[i];
        if (take_int(s, wp::kArgProtocol, &a.protocol) || take_int(s, wp::kArgSlot, &a.slot) ||
            take_int(s, wp::kArgGeneration, &a.generation) ||
            take_int(s, wp::kArgConfigFd, &a.config_fd) || take_int(s, wp::kArgIpcFd, &a.ipc_fd) ||
            take_int(s, wp::kArgStatsFd, &a.stats_fd))
            continue;
        return make_error("unknown worker argument '" + std::string(s) + "'");
    }
    if (a.config_fd < 0) return make_error("worker started without --config-fd");
    return a;
}

Result<std::string> read_all(int fd) {
    std::string text;
    char buf[16384];
    off_t off = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(sys_error("pread", "config from the master", errno));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        off += n;
    }
    return text;
}

struct SignalHandles {
    UvHandle<uv_signal_t> term, intr, quit, usr1, hup;
};

void watch_signal(uv_loop_t* loop, UvHandle<uv_signal_t>& h, int signum, Server* server,
                  uv_signal_cb cb) {
    uv_signal_init(loop, h.make());
    h.get()->data = server;
    uv_signal_start(h.get(), cb, signum);
}

}  // namespace

int run_worker(int argc, char** argv) {
    auto args = parse_args(argc, argv);
    if (!args) {
        log::error(args.error());
        return wp::kExitFatalConfig;
    }
    log::set_tag("worker " + std::to_string(args->slot) + "/g" + std::to_string(args->generation));
    if (args->protocol != build::worker_protocol) {
        log::error("this minid binary (", build::version, ") speaks worker protocol ",
                   build::worker_protocol, " but the running master speaks ", args->protocol,
                   "; restart minid (systemctl restart minid) to finish the upgrade");
        return wp::kExitProtocolMismatch;
    }

    ::signal(SIGPIPE, SIG_IGN);  // sendfile() on a closed socket raises SIGPIPE

    UniqueFd config_fd(args->config_fd);
    auto text = read_all(config_fd.get());
    if (!text) {
        log::error(text.error());
        return wp::kExitFatalConfig;
    }
    config_fd.reset();
    const auto [config_text, tls_bundle] = split_config_and_bundle(*text);
    auto config = parse_config_text(config_text, "config from master");
    if (!config) {
        log::error("the master handed over a config this worker cannot parse: ", config.error());
        return wp::kExitFatalConfig;
    }
    log::set_level(config->log_level);

    ServerOptions options;
    options.config = std::move(config).value();
    options.tls_bundle = std::string(tls_bundle);
    char** names = nullptr;
    int n = sd_listen_fds_with_names(1, &names);
    if (n < 0) {
        log::error("sd_listen_fds_with_names failed: ", strerror(-n));
        return wp::kExitFatalConfig;
    }
    for (int i = 0; i < n; ++i) {
        std::string name = names && names[i] ? names[i] : "fd" + std::to_string(i);
        options.listeners.emplace_back(UniqueFd(SD_LISTEN_FDS_START + i), std::move(name));
        if (names) free(names[i]);
    }
    free(names);
    if (options.listeners.empty()) {
        log::error("worker started without listening sockets (LISTEN_FDS)");
        return wp::kExitFatalConfig;
    }

    std::optional<StatsSegment> stats;
    if (args->stats_fd >= 0) {
        auto seg = StatsSegment::attach(args->stats_fd);
        if (!seg) {
            log::error(seg.error());
            return wp::kExitFatalConfig;
        }
        stats.emplace(std::move(seg).value());
        if (args->slot >= 0 && static_cast<size_t>(args->slot) < StatsSegment::kSlots) {
            WorkerSlot& slot = stats->slot(static_cast<size_t>(args->slot));
            slot.pid.store(static_cast<uint64_t>(::getpid()), std::memory_order_relaxed);
            slot.generation.store(static_cast<uint64_t>(args->generation),
                                  std::memory_order_relaxed);
            slot.started_unix_ms.store(unix_ms(), std::memory_order_relaxed);
            slot.heartbeat_ms.store(monotonic_ms(), std::memory_order_relaxed);
            options.slot = &slot;
            options.all_slots = &stats->slot(0);
            options.slot_count = StatsSegment::kSlots;
            options.slot_index = static_cast<size_t>(args->slot);
            options.upstream_slots = stats->upstreams(static_cast<size_t>(args->slot));
        }
    }
    if (args->ipc_fd >= 0) options.ipc = UniqueFd(args->ipc_fd);

    uv_loop_t loop;
    if (int rc = uv_loop_init(&loop); rc != 0) {
        log::error("uv_loop_init failed: ", uv_strerror(rc));
        return 1;
    }
    int exit_code = wp::kExitOk;
    {
        auto server = Server::create(&loop, std::move(options));
        if (!server) {
            log::error(server.error());
            exit_code = wp::kExitFatalConfig;
        } else {
            Server* s = server->get();
            SignalHandles sig;
            watch_signal(&loop, sig.term, SIGTERM, s, [](uv_signal_t* h, int) noexcept {
                if (auto* srv = static_cast<Server*>(h->data)) srv->begin_drain("SIGTERM");
            });
            auto fast = [](uv_signal_t* h, int signum) noexcept {
                if (auto* srv = static_cast<Server*>(h->data)) {
                    log::info("fast stop (", strsignal(signum), ")");
                    srv->stop_now();
                }
            };
            watch_signal(&loop, sig.intr, SIGINT, s, fast);
            watch_signal(&loop, sig.quit, SIGQUIT, s, fast);
            watch_signal(&loop, sig.usr1, SIGUSR1, s, [](uv_signal_t* h, int) noexcept {
                if (auto* srv = static_cast<Server*>(h->data)) {
                    if (auto st = srv->access_log().reopen(); !st) log::error(st.error());
                }
            });
            // SIGHUP means "reload" to the master only; a worker ignores it (the master may
            // share a terminal or process group with us).
            watch_signal(&loop, sig.hup, SIGHUP, s, [](uv_signal_t*, int) noexcept {});
            // The master starts us with every signal blocked (see spawn_worker); now that the
            // handlers exist, let them in, including any that arrived since fork.
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, nullptr);
            if (auto st = s->start(); !st) {
                log::error(st.error());
                exit_code = wp::kExitFatalConfig;
            } else {
                s->run();
            }
        }
    }
    // Every handle was closed by its owner's destructor; let the close callbacks run.
    uv_run(&loop, UV_RUN_DEFAULT);
    if (int rc = uv_loop_close(&loop); rc != 0)
        log::warn("uv_loop_close: ", uv_strerror(rc), " (a handle leaked)");
    log::debug("exiting");
    return exit_code;
}

}  // namespace minid
