// The master's side of the ACME agent (acme/agent.hpp): runs minid-acme-agent while the
// serving config has a site with tls = auto, restarts it with backoff when it dies (1 s
// doubling to 60 s; a run of a minute resets it), restarts it when the config changes, and
// turns its messages into a reload (a certificate changed) or a status kept for minidctl. The
// master never waits on it and never talks to the CA.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "common/config.hpp"
#include "common/unique_fd.hpp"
#include "worker/uv_handle.hpp"

namespace minid {

class AcmeAgentProcess {
  public:
    // `reload` runs when the agent says a certificate in the state directory changed.
    AcmeAgentProcess(uv_loop_t* loop, std::function<void()> reload);
    ~AcmeAgentProcess();

    // The serving config: starts the agent if some site has tls = auto, stops it if none does,
    // restarts it if the config it runs with changed.
    // `agent_path` is minid-acme-agent's (daemon/acme_agent_path.hpp).
    void configure(const Config& config, const std::string& agent_path);
    // From SIGCHLD handling: true if `pid` was the agent (then a restart is scheduled).
    bool reaped(pid_t pid, int status);
    // SIGTERM to the agent, no restart (the master stops).
    void stop();

    pid_t pid() const { return pid_; }
    // The agent's last status report (JSON text), "" before the first.
    const std::string& status_json() const { return status_; }
    uint64_t restarts() const { return restarts_; }

  private:
    void spawn();
    void on_readable();
    void schedule_restart();

    uv_loop_t* loop_;
    std::function<void()> reload_;
    std::string executable_;
    std::string config_text_;  // what the agent runs with; "" = no agent wanted
    UniqueFd config_fd_;
    pid_t pid_ = -1;
    UniqueFd ipc_;
    UvHandle<uv_poll_t> poll_;
    UvHandle<uv_timer_t> restart_timer_;
    uint64_t started_ms_ = 0;
    uint64_t backoff_ms_ = 0;
    uint64_t restarts_ = 0;
    bool stopping_ = false;
    std::string status_;
};

}  // namespace minid
