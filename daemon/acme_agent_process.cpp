// AcmeAgentProcess: spawn, watch and restart the ACME agent; see acme_agent_process.hpp.
#include "daemon/acme_agent_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.hpp"
#include "common/sealed_memfd.hpp"
#include "common/worker_message.hpp"
#include "daemon/worker_spawn.hpp"

namespace minid {
namespace {

constexpr uint64_t kFirstBackoffMs = 1000;
constexpr uint64_t kMaxBackoffMs = 60'000;
constexpr uint64_t kHealthyRunMs = 60'000;

}  // namespace

AcmeAgentProcess::AcmeAgentProcess(uv_loop_t* loop, std::function<void()> reload)
    : loop_(loop), reload_(std::move(reload)) {
    uv_timer_init(loop_, restart_timer_.make());
    restart_timer_.get()->data = this;
}

AcmeAgentProcess::~AcmeAgentProcess() {
    stop();
}

void AcmeAgentProcess::configure(const Config& config, const std::string& agent_path) {
    executable_ = agent_path;
    const std::string text = config.acme_enabled() ? config.serialize() : std::string();
    if (text == config_text_) return;
    config_text_ = text;
    config_fd_.reset();
    if (pid_ > 0) {
        log::info("ACME agent pid ", pid_, ": the configuration changed, restarting it");
        ::kill(pid_, SIGTERM);  // reaped() starts the new one
        backoff_ms_ = 0;
        return;
    }
    if (!config_text_.empty()) spawn();
}

void AcmeAgentProcess::spawn() {
    if (stopping_ || config_text_.empty() || pid_ > 0) return;
    if (!config_fd_) {
        auto fd = make_sealed_memfd("minid-acme-config", config_text_);
        if (!fd) {
            log::error("ACME agent: ", fd.error());
            schedule_restart();
            return;
        }
        config_fd_ = std::move(fd).value();
    }
    // The program may be gone since the config was checked (a package removed or half
    // upgraded): say which file, then retry with backoff.
    if (::access(executable_.c_str(), X_OK) != 0) {
        log::error("cannot start the ACME agent: ",
                   executable_.empty() ? std::string("no minid-acme-agent was found")
                                       : executable_ + ": " + std::strerror(errno));
        schedule_restart();
        return;
    }
    static const std::vector<ListenSocket> kNoListeners;
    SpawnRequest req;
    req.executable = executable_;
    req.config_fd = config_fd_.get();
    req.listeners = &kNoListeners;
    req.acme_agent = true;
    auto spawned = spawn_worker(req);
    if (!spawned) {
        log::error("cannot start the ACME agent: ", spawned.error());
        schedule_restart();
        return;
    }
    pid_ = spawned->pid;
    ipc_ = std::move(spawned->ipc);
    uv_update_time(loop_);
    started_ms_ = uv_now(loop_);
    uv_poll_t* p = poll_.make();
    if (int rc = uv_poll_init_socket(loop_, p, ipc_.get()); rc != 0) {
        log::error("uv_poll_init_socket(ACME agent link) failed: ", uv_strerror(rc));
        return;
    }
    p->data = this;
    uv_poll_start(p, UV_READABLE, [](uv_poll_t* h, int, int) noexcept {
        if (auto* self = static_cast<AcmeAgentProcess*>(h->data)) self->on_readable();
    });
    log::info("started the ACME agent, pid ", pid_);
}

void AcmeAgentProcess::on_readable() {
    namespace msg = worker_message;
    for (int i = 0; i < 16; ++i) {  // bounded: the poll is level-triggered
        auto got = msg::receive(ipc_.get());
        if (!got) {
            log::warn("ACME agent: ", got.error());
            continue;
        }
        if (got->closed) {
            poll_.close();  // SIGCHLD brings its exit
            return;
        }
        if (!got->message) return;
        switch (got->message->type) {
            case msg::Type::acme_certificates:
                log::notice("ACME agent: a certificate changed; reloading to serve it");
                reload_();
                break;
            case msg::Type::acme_status:
                status_ = std::move(got->message->payload);
                break;
            default:
                log::warn("unexpected ", msg::type_name(got->message->type),
                          " message from the ACME agent");
        }
    }
}

bool AcmeAgentProcess::reaped(pid_t pid, int status) {
    if (pid != pid_ || pid_ <= 0) return false;
    pid_ = -1;
    poll_.close();
    ipc_.reset();
    if (stopping_ || config_text_.empty()) return true;
    uv_update_time(loop_);
    const uint64_t ran = uv_now(loop_) - started_ms_;
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!clean) {
        if (WIFSIGNALED(status))
            log::error("the ACME agent (pid ", pid, ") was killed by signal ", WTERMSIG(status));
        else
            log::error("the ACME agent (pid ", pid, ") exited with status ", WEXITSTATUS(status));
    }
    if (ran >= kHealthyRunMs) backoff_ms_ = 0;
    schedule_restart();
    return true;
}

void AcmeAgentProcess::schedule_restart() {
    if (stopping_) return;
    backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs : std::min(backoff_ms_ * 2, kMaxBackoffMs);
    ++restarts_;
    uv_timer_start(
        restart_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* self = static_cast<AcmeAgentProcess*>(t->data)) self->spawn();
        },
        backoff_ms_, 0);
}

void AcmeAgentProcess::stop() {
    stopping_ = true;
    if (restart_timer_.get()) uv_timer_stop(restart_timer_.get());
    restart_timer_.close();
    poll_.close();
    if (pid_ > 0 && ::kill(pid_, SIGTERM) != 0 && errno != ESRCH)
        log::error(sys_error("kill", "ACME agent", errno));
}

}  // namespace minid
