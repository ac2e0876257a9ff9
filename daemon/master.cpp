// Master implementation. Listening sockets stay open here across every reload, so the kernel
// keeps queueing connections while generations change hands: nothing is refused.
#include "daemon/master.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "acme/acme_storage.hpp"
#include "common/build_info.hpp"
#include "common/log.hpp"
#include "common/sealed_memfd.hpp"
#include "common/worker_message.hpp"
#include "daemon/acme_agent_path.hpp"
#include "daemon/control_status.hpp"
#include "daemon/cpu_quota.hpp"
#include "daemon/systemd_notify.hpp"
#include "daemon/tls_material.hpp"
#include "daemon/worker_spawn.hpp"
#include "worker/transport/ktls.hpp"
#include "worker/transport/tls_bundle.hpp"

namespace minid {
namespace {

constexpr uint64_t kTickMs = 1000;

// A polling worker spends CPU time while it waits. Under a cgroup CPU quota (systemd's
// CPUQuota=, a container's CPU limit) of less than one CPU per worker that time is taken from
// requests: the kernel throttles the whole service for the rest of each period once the quota
// is gone. So such a generation's workers sleep when idle, whatever busy_poll says.
Config config_for_workers(const Config& config, unsigned workers, uint64_t generation) {
    Config c = config;
    if (config.busy_poll.count() == 0) return c;
    const auto quota = current_cpu_quota();
    if (!quota || quota->cpus >= static_cast<double>(workers)) return c;
    c.busy_poll = std::chrono::microseconds{0};
    char cpus[32];
    std::snprintf(cpus, sizeof cpus, "%.2f", quota->cpus);
    log::notice("generation ", generation,
                ": busy polling is off: the CPU quota of this cgroup is ", cpus, " CPU (",
                quota->source, "), less than one CPU for each of ", workers, " worker(s)");
    return c;
}

// Reads and checks every certificate and key; warnings go to the log.
Result<std::string> load_tls_bundle(const Config& config, bool tls_listeners) {
    auto material = load_tls_material(config, tls_listeners, ::time(nullptr));
    if (!material) return make_error(material.error());
    for (const std::string& w : material->warnings) log::warn(w);
    if (config.tls_ktls && tls_listeners) {
        if (const std::string why = ktls_unavailable_reason(); !why.empty())
            log::notice("tls_ktls = on, but this kernel offers no kTLS: ", why,
                        "; TLS records are encrypted in user space");
    }
    return std::move(material->bundle);
}

// tls = auto: the agent's program must be there (else the config fails, like a missing
// certificate file), and the account key's thumbprint goes to the workers with the config, for
// HTTP-01. The master makes the key if there is none (local and quick; the agent does the
// network). Returns the agent's path, "" without tls = auto.
Result<std::string> prepare_acme(Config& config) {
    if (!config.acme_enabled()) return std::string();
    auto agent = find_acme_agent(current_executable());
    if (!agent) return make_error(agent.error());
    auto thumbprint = acme::account_thumbprint(config.acme_state_dir, config.acme_ca);
    if (!thumbprint) return make_error("[acme] state_dir: " + thumbprint.error());
    config.acme_thumbprint = std::move(thumbprint).value();
    return agent;
}

}  // namespace

// The supervisor's actions, done with real processes, sd_notify and libuv.
class Master::Host final : public SupervisorHost {
  public:
    explicit Host(Master& m) : m_(m) {}
    uint64_t now_ms() override {
        uv_update_time(m_.loop_);
        return uv_now(m_.loop_);
    }
    Result<pid_t> spawn(uint64_t generation, const Config& config, unsigned target) override {
        return m_.spawn(generation, config, target);
    }
    void signal(pid_t pid, int signum) override {
        if (::kill(pid, signum) != 0 && errno != ESRCH)
            log::error(sys_error("kill", "worker " + std::to_string(pid), errno));
    }
    void ping(pid_t pid) override {
        auto it = m_.workers_.find(pid);
        if (it == m_.workers_.end()) return;
        if (auto st = worker_message::send(it->second->ipc.get(), worker_message::Type::ping,
                                           worker_message::encode_u64(++m_.ping_sequence_));
            !st)
            log::debug("worker ", pid, ": ", st.error());
    }
    Result<Config> load_reload_config() override { return m_.load_reload_config(); }
    void arm_respawn_timer(uint64_t delay_ms) override {
        uv_timer_start(
            m_.respawn_timer_.get(),
            [](uv_timer_t* t) noexcept {
                if (auto* m = static_cast<Master*>(t->data)) m->supervisor_->respawn_due();
            },
            delay_ms, 0);
    }
    void serving_config_changed(const Config& config) override {
        log::set_level(config.log_level);
        m_.arm_ticket_rotation(config);
        if (m_.acme_) m_.acme_->configure(config, m_.acme_agent_path_);
    }
    void generation_gone(uint64_t generation) override { m_.config_fds_.erase(generation); }
    void notify_ready(const std::string& status) override { notify::ready(status); }
    void notify_reloading(const std::string& status) override { notify::reloading(status); }
    void notify_stopping(const std::string& status) override { notify::stopping(status); }
    void notify_extend_timeout(uint64_t usec) override { notify::extend_timeout(usec); }
    std::string status_line() override { return m_.status_line(); }
    void status_changed() override { m_.update_status(); }
    void stopped() override { uv_stop(m_.loop_); }

  private:
    Master& m_;
};

Result<std::unique_ptr<Master>> Master::create(uv_loop_t* loop, MasterOptions options) {
    auto handover = reexec::take_handover();
    if (!handover) return make_error(handover.error());
    if (*handover) {
        reexec::Handover& h = **handover;
        auto config = parse_config_text(h.serving_config, "the previous master's configuration");
        if (!config) return make_error(config.error());
        options.config = std::move(config).value();
        std::vector<ListenSocket> sockets;
        for (const auto& l : h.listeners) {
            ListenSocket s;
            s.fd = UniqueFd(l.fd);
            s.name = l.name;
            s.bound = l.bound;
            if (!l.address.empty()) {
                auto a = ListenAddress::parse(l.address);
                if (!a) return make_error("re-exec state: " + a.error());
                s.address = *a;
            }
            sockets.push_back(std::move(s));
        }
        auto stats = StatsSegment::attach(h.stats_fd);
        if (!stats) return make_error(stats.error());
        std::unique_ptr<Master> m(new Master(
            loop, std::move(options), ListenSockets::adopt(h.from_systemd, std::move(sockets)),
            std::move(stats).value()));
        // For respawns of the adopted generation until the reload that follows reads them again.
        if (auto bundle = load_tls_bundle(m->supervisor_->config(), m->listeners_.any_tls()))
            m->tls_bundle_ = std::move(bundle).value();
        else
            log::warn("certificates of the adopted generation: ", bundle.error());
        if (m->supervisor_->config().acme_enabled()) {
            if (auto agent = find_acme_agent(current_executable()))
                m->acme_agent_path_ = std::move(agent).value();
            else
                log::warn("the adopted generation: ", agent.error());
        }
        auto keys = h.session_ticket_keys.empty()
                        ? SessionTicketRotation::create()
                        : SessionTicketRotation::restore(h.session_ticket_keys);
        if (!keys) return make_error(keys.error());
        m->ticket_keys_.emplace(std::move(keys).value());
        if (auto st = m->resume(std::move(h)); !st) return make_error(st.error());
        return m;
    }
    auto agent = prepare_acme(options.config);
    if (!agent) return make_error(agent.error());
    auto listeners = ListenSockets::acquire(options.config);
    if (!listeners) return make_error(listeners.error());
    auto bundle = load_tls_bundle(options.config, listeners->any_tls());
    if (!bundle) return make_error(bundle.error());
    auto stats = StatsSegment::create();
    if (!stats) return make_error(stats.error());
    std::unique_ptr<Master> m(new Master(loop, std::move(options), std::move(listeners).value(),
                                         std::move(stats).value()));
    m->tls_bundle_ = std::move(bundle).value();
    m->acme_agent_path_ = std::move(agent).value();
    auto keys = SessionTicketRotation::create();
    if (!keys) return make_error(keys.error());
    m->ticket_keys_.emplace(std::move(keys).value());
    return m;
}

Status Master::resume(reexec::Handover h) {
    resumed_ = true;
    log::set_level(supervisor_->config().log_level);
    started_unix_ms_ = h.started_unix_ms;
    exited_ = h.exited;
    adopted_control_fd_ = h.control_fd;
    adopted_waiter_fds_ = h.reload_waiter_fds;
    if (h.workers.size() != h.supervisor.workers.size())
        return make_error("re-exec state: worker lists differ in length");
    for (const auto& hw : h.workers) {
        auto w = std::make_unique<Worker>();
        w->pid = hw.pid;
        w->slot = hw.slot;
        w->spawned_unix_ms = hw.spawned_unix_ms;
        w->ipc = UniqueFd(hw.link_fd);
        w->master = this;
        Worker& ref = *w;
        workers_[hw.pid] = std::move(w);
        watch_link(ref);
    }
    supervisor_->adopt(h.supervisor);
    log::notice("re-executed: master pid ", pid_, " now runs ", executable_, " (minid ",
                build::version, "); adopted ", h.workers.size(), " worker(s), generation ",
                h.supervisor.serving_generation, " serving");
    return {};
}

Master::Master(uv_loop_t* loop, MasterOptions options, ListenSockets listeners, StatsSegment stats)
    : loop_(loop),
      options_(std::move(options)),
      listeners_(std::move(listeners)),
      stats_(std::move(stats)),
      executable_(current_executable()),
      pid_(::getpid()),
      started_unix_ms_(unix_ms()),
      host_(std::make_unique<Host>(*this)),
      supervisor_(std::make_unique<Supervisor>(*host_, options_.config)),
      acme_(std::make_unique<AcmeAgentProcess>(loop, [this] { reload(nullptr); })) {}

Master::~Master() = default;

void Master::watch_signals() {
    struct Entry {
        int signum;
        void (*fn)(Master&);
    };
    static const Entry kEntries[] = {
        {SIGHUP, [](Master& m) { m.reload(nullptr); }},
        {SIGTERM, [](Master& m) { m.stop(false); }},
        {SIGINT, [](Master& m) { m.stop(true); }},
        {SIGQUIT, [](Master& m) { m.stop(true); }},
        {SIGUSR1, [](Master& m) { m.reopen_logs(); }},
        {SIGTTIN,
         [](Master& m) {
             if (auto st = m.set_workers(m.supervisor_->target_workers() + 1); !st)
                 log::error(st.error());
         }},
        {SIGTTOU,
         [](Master& m) {
             if (m.supervisor_->target_workers() <= 1) {
                 log::warn("SIGTTOU ignored: keeping at least one worker");
                 return;
             }
             if (auto st = m.set_workers(m.supervisor_->target_workers() - 1); !st)
                 log::error(st.error());
         }},
        {SIGCHLD, [](Master& m) { m.reap_children(); }},
    };
    for (const auto& e : kEntries) {
        UvHandle<uv_signal_t> h;
        uv_signal_init(loop_, h.make());
        h.get()->data = this;
        // The callback finds its entry again by signal number (libuv passes it).
        uv_signal_start(
            h.get(),
            [](uv_signal_t* s, int signum) noexcept {
                auto* m = static_cast<Master*>(s->data);
                if (!m) return;
                for (const auto& en : kEntries)
                    if (en.signum == signum) en.fn(*m);
            },
            e.signum);
        signals_.push_back(std::move(h));
    }
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t none;  // main() blocked everything until now
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

int Master::run() {
    watch_signals();
    uv_timer_init(loop_, tick_timer_.make());
    tick_timer_.get()->data = this;
    uv_timer_start(
        tick_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* m = static_cast<Master*>(t->data)) m->supervisor_->tick();
        },
        kTickMs, kTickMs);
    uv_timer_init(loop_, respawn_timer_.make());
    respawn_timer_.get()->data = this;
    uv_timer_init(loop_, ticket_timer_.make());
    ticket_timer_.get()->data = this;
    arm_ticket_rotation(supervisor_->config());

    if (uint64_t usec = notify::watchdog_usec(); usec > 0) {
        uv_timer_init(loop_, watchdog_timer_.make());
        watchdog_timer_.get()->data = this;
        const uint64_t every = std::max<uint64_t>(usec / 2000, 100);
        uv_timer_start(
            watchdog_timer_.get(),
            [](uv_timer_t* t) noexcept {
                auto* m = static_cast<Master*>(t->data);
                // Only vouch for the service while it can serve: at least one worker of the
                // serving generation is up and its loop turns.
                if (m && m->supervisor_->serving_workers() > 0) notify::watchdog();
            },
            every, every);
        log::info("systemd watchdog enabled: pinging every ", every, " ms");
    }

    for (const auto& s : listeners_.sockets())
        log::info("listening on ", s.bound, listeners_.from_systemd() ? " (from systemd)" : "");
    if (listeners_.from_systemd() && !options_.config_path.empty())
        log::debug("socket activated: the config's listen= is not used");

    if (!supervisor_->config().control_socket.empty()) {
        // minid keeps serving without its control socket (e.g. run by hand without
        // permission for /run/minid); minidctl then says it cannot reach it.
        auto control = ControlServer::create(loop_, *this, adopted_control_fd_);
        if (control)
            control_ = std::move(control).value();
        else
            log::error("control socket disabled: ", control.error());
    } else if (adopted_control_fd_ >= 0) {
        ::close(adopted_control_fd_);
    }
    adopted_control_fd_ = -1;
    if (resumed_) {
        // The reload that re-executed us goes on here: generation N+1 runs the new binary and
        // the adopted workers drain as in any reload. Its waiters get their answer from us.
        std::vector<ReloadDone> waiters;
        for (int fd : adopted_waiter_fds_) {
            if (!control_) {
                ::close(fd);
                continue;
            }
            if (auto done = control_->adopt_reload_waiter(fd)) waiters.push_back(std::move(done));
        }
        adopted_waiter_fds_.clear();
        // Workers that exited while the image changed are still zombies to reap.
        reap_children();
        supervisor_->reload([waiters = std::move(waiters)](const Status& st) {
            for (const auto& w : waiters) w(st);
        });
    } else if (auto st = supervisor_->start(); !st) {
        log::error("cannot start workers: ", st.error());
        if (control_) control_->close();
        return 1;
    }
    uv_run(loop_, UV_RUN_DEFAULT);
    if (control_) control_->close();
    control_.reset();

    // Close our handles and let their close callbacks run before the loop is closed.
    acme_.reset();
    tick_timer_.close();
    respawn_timer_.close();
    watchdog_timer_.close();
    ticket_timer_.close();
    signals_.clear();
    workers_.clear();
    uv_run(loop_, UV_RUN_DEFAULT);
    return supervisor_->exit_code();
}

Result<pid_t> Master::spawn(uint64_t generation, const Config& config, unsigned target) {
    auto cfd = config_fds_.find(generation);
    if (cfd == config_fds_.end()) {
        // Sealed: no worker of this generation can read anything but what was validated.
        // The certificates and keys ride along after a NUL: workers never open key files.
        auto fd = make_sealed_memfd(
            "minid-config",
            join_config_and_bundle(config_for_workers(config, target, generation).serialize(),
                                   tls_bundle_));
        if (!fd) return make_error(fd.error());
        cfd = config_fds_.emplace(generation, std::move(fd).value()).first;
    }
    int slot = stats_.claim_slot();
    if (slot < 0) return make_error("no free stats slot (too many workers alive)");
    SpawnRequest req;
    req.executable = executable_;
    req.slot = slot;
    req.generation = generation;
    req.config_fd = cfd->second.get();
    req.stats_fd = stats_.fd();
    req.listeners = &listeners_.sockets();
    auto spawned = spawn_worker(req);
    if (!spawned) {
        stats_.release_slot(static_cast<size_t>(slot));
        return make_error(spawned.error());
    }
    auto w = std::make_unique<Worker>();
    w->pid = spawned->pid;
    w->slot = slot;
    w->spawned_unix_ms = unix_ms();
    w->ipc = std::move(spawned->ipc);
    w->master = this;
    WorkerSlot& s = stats_.slot(static_cast<size_t>(slot));
    s.pid.store(static_cast<uint64_t>(w->pid), std::memory_order_relaxed);
    s.generation.store(generation, std::memory_order_relaxed);
    s.started_unix_ms.store(w->spawned_unix_ms, std::memory_order_relaxed);
    s.heartbeat_ms.store(monotonic_ms(), std::memory_order_relaxed);

    watch_link(*w);
    // First on its link: the worker waits for these before it accepts.
    send_ticket_keys(*w);
    log::debug("spawned worker pid ", w->pid, " (slot ", slot, ", generation ", generation, ")");
    const pid_t pid = w->pid;
    workers_[pid] = std::move(w);
    return pid;
}

void Master::watch_link(Worker& w) {
    uv_poll_t* p = w.poll.make();
    if (int rc = uv_poll_init_socket(loop_, p, w.ipc.get()); rc == 0) {
        p->data = &w;
        uv_poll_start(p, UV_READABLE, [](uv_poll_t* h, int, int) noexcept {
            auto* wk = static_cast<Worker*>(h->data);
            if (wk) wk->master->on_worker_message(*wk);
        });
    } else {
        log::error("uv_poll_init_socket(worker link) failed: ", uv_strerror(rc));
    }
}

void Master::on_worker_message(Worker& w) {
    namespace msg = worker_message;
    const pid_t pid = w.pid;
    // Bounded, so a link that keeps failing cannot spin here; the poll is level-triggered.
    for (int i = 0; i < 64; ++i) {
        auto got = msg::receive(w.ipc.get());
        if (!got) {
            log::warn("worker ", pid, ": ", got.error());
            continue;
        }
        if (got->closed) {
            // The worker is gone; SIGCHLD brings its exit status. Stop polling a dead link.
            w.poll.close();
            return;
        }
        if (!got->message) return;
        switch (got->message->type) {
            case msg::Type::ready:
                supervisor_->worker_ready(pid);
                break;
            case msg::Type::pong:
                supervisor_->worker_alive(pid);
                break;
            case msg::Type::ping:
            case msg::Type::session_ticket_keys:
            case msg::Type::acme_certificates:
            case msg::Type::acme_status:
                log::warn("unexpected ", msg::type_name(got->message->type),
                          " message from worker ", pid);
                break;
        }
        // Handling a message never ends a worker's record (only its exit does), but be sure.
        if (workers_.find(pid) == workers_.end()) return;
    }
}

void Master::send_ticket_keys(Worker& w) {
    if (!ticket_keys_ || !w.ipc) return;
    if (auto st = worker_message::send(w.ipc.get(), worker_message::Type::session_ticket_keys,
                                       ticket_keys_->encoded());
        !st)
        log::warn("worker ", w.pid, ": session-ticket keys not sent: ", st.error());
}

void Master::rotate_ticket_keys() {
    if (!ticket_keys_) return;
    if (auto st = ticket_keys_->rotate(); !st) {
        log::error("session-ticket key rotation failed, the current keys stay: ", st.error());
        return;
    }
    for (auto& [pid, w] : workers_) send_ticket_keys(*w);
    log::info("session-ticket keys rotated (", ticket_keys_->keys().size(), " kept), sent to ",
              workers_.size(), " worker(s)");
}

void Master::arm_ticket_rotation(const Config& config) {
    const auto period = static_cast<uint64_t>(config.tls_ticket_key_rotation.count());
    if (!ticket_timer_ || period == ticket_rotation_ms_) return;
    ticket_rotation_ms_ = period;
    uv_timer_start(
        ticket_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* m = static_cast<Master*>(t->data)) m->rotate_ticket_keys();
        },
        period, period);
}

Result<Config> Master::load_reload_config() {
    log::info("reloading configuration", options_.config_path.empty() ? "" : " from ",
              options_.config_path);
    const uint64_t serving = supervisor_->serving_generation();
    auto config = load_config(options_.config_path, options_.overrides);
    if (!config) {
        log::error("reload failed, generation ", serving, " keeps serving:\n", config.error());
        return make_error(config.error());
    }
    auto agent = prepare_acme(*config);
    if (!agent) {
        log::error("reload failed, generation ", serving, " keeps serving: ", agent.error());
        return make_error(agent.error());
    }
    // Certificates are part of the configuration: one that cannot be used fails the reload
    // the same way, before anything changes.
    const bool tls_listeners =
        listeners_.from_systemd() ? listeners_.any_tls() : !config->listen_tls.empty();
    auto bundle = load_tls_bundle(*config, tls_listeners);
    if (!bundle) {
        log::error("reload failed, generation ", serving, " keeps serving: ", bundle.error());
        return make_error(bundle.error());
    }
    const std::string path = current_executable();
    // The reload that continues a re-exec does not look again: we were just executed from that
    // path, and a file system that reported other inodes for it would otherwise loop here.
    const bool just_reexecuted = std::exchange(resumed_, false);
    if (!just_reexecuted && reexec::binary_replaced(path)) {
        // A package upgrade replaced the binary: the new master must run it too. Probe first,
        // so that a binary that cannot start fails this reload and nothing else.
        log::notice("the minid binary ", path,
                    " has been replaced: re-executing the master with it");
        auto handover = make_handover();
        Status st = handover ? reexec::probe(path, options_.args, *handover)
                             : Status(make_error(handover.error()));
        if (st) {
            log::info("handing over ", handover->workers.size(), " worker(s), ",
                      handover->listeners.size(), " listener(s) and ",
                      handover->reload_waiter_fds.size(), " waiting control client(s)");
            st = reexec::exec_master(path, options_.args, *handover);  // returns only on failure
        }
        log::error("reload failed, generation ", serving, " keeps serving: ", st.error());
        return make_error(st.error());
    }
    if (listeners_.from_systemd() && (config->listen != supervisor_->config().listen ||
                                      config->listen_tls != supervisor_->config().listen_tls))
        log::notice(
            "listen= changed, but the listening sockets come from systemd: change the "
            ".socket unit (systemctl edit minid.socket) to move them");
    if (auto st = listeners_.reconcile(*config); !st) {
        log::error("reload failed, generation ", serving, " keeps serving: ", st.error());
        return make_error(st.error());
    }
    executable_ = path;
    acme_agent_path_ = std::move(agent).value();
    tls_bundle_ = std::move(bundle).value();
    return config;
}

void Master::reload(ReloadDone done) {
    supervisor_->reload(std::move(done));
}

void Master::stop(bool fast) {
    if (acme_) acme_->stop();
    supervisor_->stop(fast);
}

Result<reexec::Handover> Master::make_handover() const {
    reexec::Handover h;
    h.started_unix_ms = started_unix_ms_;
    h.serving_config = supervisor_->config().serialize();
    h.from_systemd = listeners_.from_systemd();
    for (const auto& s : listeners_.sockets())
        h.listeners.push_back(
            {s.fd.get(), s.name, h.from_systemd ? "" : s.address.to_string(), s.bound});
    h.stats_fd = stats_.fd();
    if (control_) {
        h.control_fd = control_->listener_fd();
        h.reload_waiter_fds = control_->reload_waiter_fds();
    }
    h.exited = exited_;
    if (ticket_keys_) h.session_ticket_keys = ticket_keys_->encoded();
    h.supervisor = supervisor_->snapshot();
    for (const auto& sw : h.supervisor.workers) {
        auto it = workers_.find(sw.pid);
        if (it == workers_.end() || !it->second->ipc)
            return make_error("worker " + std::to_string(sw.pid) + " has no link to hand over");
        const Worker& w = *it->second;
        h.workers.push_back({w.pid, w.slot, w.ipc.get(), w.spawned_unix_ms});
    }
    return h;
}

Status Master::set_workers(unsigned count) {
    return supervisor_->set_workers(count);
}

void Master::reopen_logs() {
    log::info("reopening log files");
    for (auto& [pid, w] : workers_) ::kill(pid, SIGUSR1);
}

void Master::reap_children() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        auto it = workers_.find(pid);
        if (it == workers_.end()) {
            if (acme_) acme_->reaped(pid, status);
            continue;
        }
        std::unique_ptr<Worker> w = std::move(it->second);
        workers_.erase(it);
        // Its counters live in its stats slot, which the next worker to claim it resets: keep
        // them, so the totals since start never go down when workers are replaced.
        add_slot_counters(exited_, stats_.slot(static_cast<size_t>(w->slot)));
        ++exited_.workers;
        stats_.release_slot(static_cast<size_t>(w->slot));
        w.reset();
        supervisor_->worker_exited(pid, status);
    }
}

std::string Master::status_line() const {
    unsigned serving = 0, draining = 0, starting = 0;
    uint64_t requests = 0, conns = 0;
    for (const auto& v : supervisor_->workers()) {
        if (v.phase == WorkerPhase::serving) ++serving;
        if (v.phase == WorkerPhase::draining) ++draining;
        if (v.phase == WorkerPhase::starting) ++starting;
        auto it = workers_.find(v.pid);
        if (it == workers_.end()) continue;
        const WorkerSlot& s = stats_.slot(static_cast<size_t>(it->second->slot));
        requests += s.requests.load(std::memory_order_relaxed);
        conns += s.connections_active.load(std::memory_order_relaxed);
    }
    std::string line = "generation " + std::to_string(supervisor_->serving_generation()) + ": " +
                       std::to_string(serving) + " serving";
    if (starting) line += ", " + std::to_string(starting) + " starting";
    if (draining) line += ", " + std::to_string(draining) + " draining";
    line += "; " + std::to_string(conns) + " connections, " + std::to_string(requests) +
            " requests by live workers";
    return line;
}

void Master::update_status() {
    if (supervisor_->serving_generation() == 0 || supervisor_->stopping()) return;
    std::string line = status_line();
    if (line == last_status_) return;
    last_status_ = line;
    notify::status(line);
}

Master::Info Master::info() const {
    Info i;
    i.pid = pid_;
    i.started_unix_ms = started_unix_ms_;
    i.generation = supervisor_->serving_generation();
    i.config_file = options_.config_path;
    i.listeners = listeners_.describe();
    i.socket_activated = listeners_.from_systemd();
    i.reloading = supervisor_->reloading();
    i.stopping = supervisor_->stopping();
    i.target_workers = supervisor_->target_workers();
    i.reloads_ok = supervisor_->reloads_ok();
    i.reloads_failed = supervisor_->reloads_failed();
    i.last_reload_error = supervisor_->last_reload_error();
    i.exited = exited_;
    if (acme_) i.acme_status = acme_->status_json();
    for (const UpstreamSettings& u : config().upstreams) i.upstreams.push_back(u.name);
    for (const auto& v : supervisor_->workers()) {
        auto it = workers_.find(v.pid);
        if (it == workers_.end()) continue;
        WorkerState st = v.phase == WorkerPhase::starting  ? WorkerState::starting
                         : v.phase == WorkerPhase::serving ? WorkerState::serving
                                                           : WorkerState::draining;
        i.workers.push_back(
            {v.pid, it->second->slot, v.generation, st, it->second->spawned_unix_ms});
    }
    return i;
}

}  // namespace minid
