// minid entry point: a worker when started by the master (`--worker`), otherwise the master —
// or a one-shot config check.
#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "common/build_info.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/worker_protocol.hpp"
#include "daemon/acme_agent_path.hpp"
#include "daemon/cli.hpp"
#include "daemon/master.hpp"
#include "daemon/reexec.hpp"
#include "daemon/tls_material.hpp"
#include "daemon/worker_spawn.hpp"
#include "worker/worker_main.hpp"

namespace {

// `minid --acme-agent ARGS`, which a master from before the agent became minid-acme-agent runs
// until the reload after the package upgrade re-executes it: run minid-acme-agent ARGS instead.
int exec_acme_agent(int argc, char** argv) {
    using namespace minid;
    log::set_tag("acme");
    auto agent = find_acme_agent(current_executable());
    if (!agent) {
        log::error(agent.error());
        return worker_protocol::kExitFatalConfig;
    }
    std::vector<char*> args = {agent->data()};
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    log::error(sys_error("execv", *agent, errno));
    return worker_protocol::kExitFatalConfig;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace minid;
    if (argc > 1 && std::string_view(argv[1]) == worker_protocol::kWorkerFlag)
        return run_worker(argc, argv);
    if (argc > 1 && std::string_view(argv[1]) == worker_protocol::kAcmeAgentFlag)
        return exec_acme_agent(argc, argv);
    if (argc > 1 && std::string_view(argv[1]).starts_with(reexec::kProbeFlag))
        return reexec::run_probe(argc, argv);

    log::set_tag("master");
    // Signals wait (blocked) until the master has its handlers, so a SIGTERM or SIGHUP sent
    // right after start-up is acted on instead of killing the process half-started.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    auto cli = parse_command_line(argc, argv);
    if (!cli) {
        std::fprintf(stderr, "minid: %s\nTry 'minid --help'.\n", cli.error().c_str());
        return 64;  // EX_USAGE
    }
    if (cli->show_help) {
        std::fputs(usage_text().c_str(), stdout);
        return 0;
    }
    if (cli->show_version) {
        std::printf("minid %s\n", build::version);
        return 0;
    }

    // A master re-executed after an upgrade runs the configuration its previous image handed
    // over (daemon/reexec.hpp); the reload it is part of reads the file again.
    const bool resuming = std::getenv(reexec::kStateEnv) != nullptr;
    auto config =
        resuming ? Result<Config>(Config{}) : load_config(cli->config_path, cli->overrides);
    if (!config) {
        std::fprintf(stderr, "minid: configuration is invalid:\n%s\n", config.error().c_str());
        return 1;
    }
    if (cli->check_config) {
        // Certificates and keys too, as the master reads them at start and reload.
        auto tls = load_tls_material(*config, !config->listen_tls.empty(), std::time(nullptr));
        if (!tls) {
            std::fprintf(stderr, "minid: configuration is invalid:\n%s\n", tls.error().c_str());
            return 1;
        }
        if (config->acme_enabled()) {
            if (auto agent = find_acme_agent(current_executable()); !agent) {
                std::fprintf(stderr, "minid: configuration is invalid:\n%s\n",
                             agent.error().c_str());
                return 1;
            }
        }
        for (const std::string& w : tls->warnings)
            std::fprintf(stderr, "minid: warning: %s\n", w.c_str());
        std::printf("minid: configuration %s is valid\n",
                    cli->config_path.empty() ? "(embedded defaults)" : cli->config_path.c_str());
        return 0;
    }
    if (!resuming) log::set_level(config->log_level);

    uv_loop_t loop;
    if (int rc = uv_loop_init(&loop); rc != 0) {
        log::error("uv_loop_init failed: ", uv_strerror(rc));
        return 1;
    }
    int code;
    {
        MasterOptions options{cli->config_path, cli->overrides, std::move(config).value(),
                              std::vector<std::string>(argv + 1, argv + argc)};
        auto master = Master::create(&loop, std::move(options));
        if (!master) {
            log::error(master.error());
            code = 1;
        } else {
            code = (*master)->run();
        }
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) log::warn("uv_loop_close: a handle leaked");
    return code;
}
