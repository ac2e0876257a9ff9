// ControlServer implementation: the listening unix socket, the per-second rate sampler, and
// the dispatch of control requests to the master.
#include "daemon/control_server.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "common/control_protocol.hpp"
#include "common/log.hpp"
#include "daemon/control_backend.hpp"
#include "daemon/control_connection.hpp"
#include "daemon/control_metrics.hpp"
#include "daemon/control_socket_file.hpp"
#include "daemon/control_status.hpp"
#include "daemon/master.hpp"
#include "daemon/rate_tracker.hpp"
#include "worker/uv_handle.hpp"

namespace minid {
namespace {

constexpr uint64_t kRateSampleMs = 1000;
constexpr int kBacklog = 64;

std::string mode_text(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode);
    return buf;
}

class ServerImpl final : public ControlServer {
  public:
    ServerImpl(uv_loop_t* loop, ControlBackend& backend, ControlServerOptions options,
               std::unique_ptr<ControlBackend> owned)
        : owned_backend_(std::move(owned)),
          loop_(loop),
          backend_(backend),
          opts_(std::move(options)) {}
    ~ServerImpl() override { close(); }

    Status start();
    void close() override;
    size_t client_count() const override { return clients_.size(); }
    int listener_fd() const override;
    std::vector<int> reload_waiter_fds() const override;
    std::function<void(const Status&)> adopt_reload_waiter(int fd) override;

  private:
    void on_connection(int status);
    void on_request(ControlConnection& c, const std::string& line);
    void sample_rates();
    control::StatusSnapshot snapshot() const;
    std::function<void(const Status&)> reload_answer(ControlConnection& c);

    std::unique_ptr<ControlBackend> owned_backend_;  // the Master adapter, when we made one
    uv_loop_t* loop_;
    ControlBackend& backend_;
    ControlServerOptions opts_;
    UvHandle<uv_pipe_t> listener_;
    UvHandle<uv_timer_t> rate_timer_;
    RateTracker rates_;
    SocketFileId file_id_;
    std::map<uint64_t, std::shared_ptr<ControlConnection>> clients_;
    // Clients owed the answer to a reload (shared with those answers, which may outlive us).
    std::shared_ptr<std::set<uint64_t>> reload_waiters_ = std::make_shared<std::set<uint64_t>>();
    uint64_t next_client_id_ = 1;
    uint64_t turned_away_ = 0;
    uint64_t next_turn_away_log_ms_ = 0;
    bool closed_ = false;
};

Status ServerImpl::start() {
    // libuv writes with write(2): a client that hangs up before its answer would kill the
    // master with SIGPIPE unless it is ignored (the master does; make sure for any caller).
    struct sigaction old {};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
        ::signal(SIGPIPE, SIG_IGN);
    Result<UniqueFd> fd = UniqueFd(opts_.adopt_fd);
    if (opts_.adopt_fd < 0) {
        if (auto st = prepare_socket_path(opts_.path); !st) return st;
        fd = bind_unix_socket(opts_.path);
        if (!fd) return make_error(fd.error());
        // Nobody can connect before listen(), so the file's umask-derived mode is never usable.
        if (auto st = set_socket_permissions(opts_.path, opts_.mode, opts_.group); !st) {
            ::unlink(opts_.path.c_str());  // just created by the bind above
            return st;
        }
    }
    // Taken after chmod/chown, which change the ctime that is part of the identity.
    auto id = socket_file_id(opts_.path);
    if (!id) return make_error(id.error());
    file_id_ = *id;
    uv_pipe_t* pipe = listener_.make();
    int r = uv_pipe_init(loop_, pipe, 0);
    if (r == 0) {
        pipe->data = this;
        r = uv_pipe_open(pipe, fd->get());
        if (r == 0) fd->release();  // the handle owns it now
    }
    if (r == 0)
        r = uv_listen(reinterpret_cast<uv_stream_t*>(pipe), kBacklog,
                      [](uv_stream_t* s, int status) noexcept {
                          if (auto* self = static_cast<ServerImpl*>(s->data))
                              self->on_connection(status);
                      });
    if (r < 0) {
        remove_socket_file(opts_.path, file_id_);
        return make_error(sys_error("listen", opts_.path, -r));
    }

    uv_timer_t* timer = rate_timer_.make();
    uv_timer_init(loop_, timer);
    timer->data = this;
    sample_rates();
    uv_timer_start(
        timer,
        [](uv_timer_t* t) noexcept {
            if (auto* self = static_cast<ServerImpl*>(t->data)) self->sample_rates();
        },
        kRateSampleMs, kRateSampleMs);
    // Sampling alone is no reason to keep the loop running.
    uv_unref(rate_timer_.base());

    log::info("control socket on ", opts_.path, " (mode ", mode_text(opts_.mode),
              opts_.group.empty() ? "" : ", group " + opts_.group, ")");
    return {};
}

void ServerImpl::close() {
    if (closed_) return;
    closed_ = true;
    listener_.close();
    rate_timer_.close();
    auto clients = std::move(clients_);
    clients_.clear();
    for (auto& [id, c] : clients) {
        c->detach();
        c->close();
    }
    remove_socket_file(opts_.path, file_id_);
}

void ServerImpl::on_connection(int status) {
    if (status < 0) {
        log::warn("control socket: ", uv_strerror(status));
        return;
    }
    const uint64_t id = next_client_id_++;
    auto c = ControlConnection::accept(
        reinterpret_cast<uv_stream_t*>(listener_.get()), id,
        {opts_.idle_timeout_ms, opts_.max_request_bytes, opts_.max_pending_output},
        [this](ControlConnection& conn, const std::string& line) { on_request(conn, line); },
        [this](uint64_t closed_id) { clients_.erase(closed_id); });
    if (!c) return;
    const bool too_many = clients_.size() >= opts_.max_clients;
    // Into the map first: fail_and_close() may close at once, and the closed handler erases it.
    clients_.emplace(id, c);
    if (too_many) {
        // One warning per burst, not one per connection of a flood.
        const uint64_t now = monotonic_ms();
        ++turned_away_;
        if (now >= next_turn_away_log_ms_) {
            log::warn("control socket: more than ", opts_.max_clients,
                      " clients at once; turned away ", turned_away_, " connection(s)");
            turned_away_ = 0;
            next_turn_away_log_ms_ = now + 10'000;
        }
        c->fail_and_close(control::encode_busy("too many control connections; try again"));
    }
}

control::StatusSnapshot ServerImpl::snapshot() const {
    return build_status(backend_.info(), backend_.stats(), rates_, {unix_ms(), monotonic_ms()},
                        read_rss_bytes);
}

void ServerImpl::sample_rates() {
    const uint64_t now = monotonic_ms();
    const StatsSegment& stats = backend_.stats();
    for (size_t i = 0; i < StatsSegment::kSlots; ++i) {
        const WorkerSlot& s = stats.slot(i);
        if (s.state.load(std::memory_order_acquire) == static_cast<uint64_t>(WorkerState::free))
            continue;
        const auto pid = static_cast<pid_t>(s.pid.load(std::memory_order_relaxed));
        if (pid > 0) rates_.sample(pid, s.requests.load(std::memory_order_relaxed), now);
    }
    rates_.forget_older_than(now > 3 * kRateSampleMs ? now - 3 * kRateSampleMs : 0);
}

void ServerImpl::on_request(ControlConnection& c, const std::string& line) {
    auto req = control::decode_request(line);
    if (!req) {
        log::debug("control client ", c.id(), ": ", req.error());
        c.respond(control::encode_error(req.error()));
        return;
    }
    const auto who = [&c] {
        return "(uid " + std::to_string(c.peer_uid()) + ", pid " + std::to_string(c.peer_pid()) +
               ")";
    };
    switch (req->cmd) {
        case control::Command::status:
            c.respond(control::encode_ok(control::status_to_json(snapshot())));
            return;
        case control::Command::metrics:
            c.respond(control::encode_ok({{"text", render_prometheus(snapshot())}}));
            return;
        case control::Command::reopen:
            log::info("control: reopen logs requested ", who());
            backend_.reopen_logs();
            c.respond(control::encode_ok());
            return;
        case control::Command::workers: {
            log::info("control: ", req->count, " workers requested ", who());
            auto st = backend_.set_workers(req->count);
            c.respond(st ? control::encode_ok({{"workers", req->count}})
                         : control::encode_error(st.error()));
            return;
        }
        case control::Command::stop:
            log::info("control: ", req->fast ? "fast" : "graceful", " stop requested ", who());
            // Answer first: stop() may end the loop before this turn is over.
            c.respond(control::encode_ok({{"stopping", true}}));
            c.hold_until_close();
            backend_.stop(req->fast);
            return;
        case control::Command::reload: {
            log::info("control: reload requested ", who());
            c.defer();
            backend_.reload(reload_answer(c));
            return;
        }
    }
    c.respond(control::encode_error("unhandled command"));
}

}  // namespace

std::function<void(const Status&)> ServerImpl::reload_answer(ControlConnection& c) {
    // The connection, and this server, may be gone by the time the reload ends (the client gave
    // up, the master stops): the callback holds only weak handles.
    std::weak_ptr<ControlConnection> weak = c.weak_from_this();
    std::weak_ptr<std::set<uint64_t>> waiting = reload_waiters_;
    reload_waiters_->insert(c.id());
    ControlBackend* backend = &backend_;
    return [weak, waiting, backend, id = c.id()](const Status& result) {
        if (auto w = waiting.lock()) w->erase(id);
        auto conn = weak.lock();
        if (!conn || conn->closed()) return;
        conn->respond(result ? control::encode_ok({{"generation", backend->info().generation}})
                             : control::encode_error(result.error()));
    };
}

int ServerImpl::listener_fd() const {
    uv_os_fd_t fd = -1;
    if (!listener_ || uv_fileno(listener_.base(), &fd) != 0) return -1;
    return fd;
}

std::vector<int> ServerImpl::reload_waiter_fds() const {
    std::vector<int> fds;
    for (uint64_t id : *reload_waiters_) {
        auto it = clients_.find(id);
        if (it == clients_.end() || it->second->closed()) continue;
        if (const int fd = it->second->fd(); fd >= 0) fds.push_back(fd);
    }
    return fds;
}

std::function<void(const Status&)> ServerImpl::adopt_reload_waiter(int fd) {
    const uint64_t id = next_client_id_++;
    auto c = ControlConnection::adopt_deferred(
        loop_, fd, id, {opts_.idle_timeout_ms, opts_.max_request_bytes, opts_.max_pending_output},
        [this](ControlConnection& conn, const std::string& line) { on_request(conn, line); },
        [this](uint64_t closed_id) { clients_.erase(closed_id); });
    if (!c) return nullptr;
    clients_.emplace(id, c);
    return reload_answer(*c);
}

Result<std::unique_ptr<ControlServer>> ControlServer::create(uv_loop_t* loop, Master& master,
                                                             int adopt_fd) {
    const Config& config = master.config();
    ControlServerOptions options;
    options.adopt_fd = adopt_fd;
    options.path = config.control_socket;
    options.mode = config.control_socket_mode;
    options.group = config.control_socket_group;
    auto backend = make_master_backend(master);
    ControlBackend& ref = *backend;
    auto server = std::make_unique<ServerImpl>(loop, ref, std::move(options), std::move(backend));
    if (auto st = server->start(); !st) return make_error(st.error());
    return std::unique_ptr<ControlServer>(std::move(server));
}

Result<std::unique_ptr<ControlServer>> ControlServer::create(uv_loop_t* loop,
                                                             ControlBackend& backend,
                                                             ControlServerOptions options) {
    auto server = std::make_unique<ServerImpl>(loop, backend, std::move(options), nullptr);
    if (auto st = server->start(); !st) return make_error(st.error());
    return std::unique_ptr<ControlServer>(std::move(server));
}

}  // namespace minid
