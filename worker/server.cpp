// Server implementation: accepting, the connection list, coarse timeouts swept four times a
// second (cheaper than a timer per connection), the drain, and stats for the master.
#include "worker/server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/log.hpp"
#include "common/worker_message.hpp"
#include "common/worker_protocol.hpp"
#include "worker/session/http1_session.hpp"
#include "worker/tls_sites.hpp"
#include "worker/transport/plain_transport.hpp"
#include "worker/transport/tls_ticket_keys.hpp"
#include "worker/transport/tls_transport.hpp"

namespace minid {
namespace {
constexpr uint64_t kSweepMs = 250;
constexpr uint64_t kHeartbeatMs = 1000;
constexpr size_t kPooledBuffers = 256;
// Session memory kept for reuse: a burst of closing connections larger than this frees the rest.
constexpr size_t kPooledSessions = 128;
// At the connection cap, each sweep closes up to this many keep-alive connections that have
// been idle for at least kEvictIdleMs (nginx reuses idle connections the same way), so idle
// clients — or an attacker holding connections open between requests — cannot lock new ones out
// for a whole keepalive_timeout.
constexpr size_t kEvictPerSweep = 32;
constexpr uint64_t kEvictIdleMs = 1000;
constexpr uint64_t kCapReportEveryMs = 60'000;
constexpr unsigned kRefusalsLoggedPerSecond = 10;

// The port a listening socket is bound to (0 for unix sockets or on error).
uint16_t local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
    return 0;
}

// This worker is the only writer of its slot, so a relaxed load+store is a correct increment
// and avoids the locked read-modify-write of fetch_add on every request.
inline void bump(std::atomic<uint64_t>& counter, uint64_t by) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
}  // namespace

Server::Server(uv_loop_t* loop, ServerOptions options)
    : loop_(loop),
      options_(std::move(options)),
      scratch_(new char[kScratchSize]),
      buffers_(std::max<size_t>(options_.config.max_header_size + 1024, 16 * 1024), kPooledBuffers),
      sessions_(kPooledSessions),
      access_log_(AccessLog::open("off").value()) {}

Result<std::unique_ptr<Server>> Server::create(uv_loop_t* loop, ServerOptions options) {
    std::unique_ptr<Server> s(new Server(loop, std::move(options)));
    const Config& cfg = s->options_.config;

    auto poller = IoPoller::create(loop, cfg.busy_poll);
    if (!poller) return make_error(poller.error());
    s->poller_ = std::move(poller).value();

    auto proxies = proxy::ProxyUpstreams::create(cfg, *s->poller_, loop);
    if (!proxies) return make_error(proxies.error());
    s->proxies_ = std::move(proxies).value();
    proxy::ProxyUpstreams* upstreams = s->proxies_.get();
    auto router = Router::create(cfg, [upstreams](std::string_view name, bool stream) {
        return upstreams->handler(name, stream);
    });
    if (!router) return make_error(router.error());
    s->router_.emplace(std::move(router).value());
    if (!s->options_.tls_bundle.empty() || cfg.acme_enabled()) {
        auto keys = TlsTicketKeys::create();
        if (!keys) return make_error(keys.error());
        s->ticket_keys_ = std::move(keys).value();
        auto tls = TlsSites::create(cfg, *s->router_, s->options_.tls_bundle, *s->ticket_keys_);
        if (!tls) return make_error(tls.error());
        s->tls_ = std::move(tls).value();
    }
    s->misdirected_handler_.emplace(s->router_->default_handler());
    if (!cfg.acme_thumbprint.empty())
        s->acme_handler_.emplace(cfg.acme_thumbprint, s->router_->default_handler());
    uint16_t https_port = 0;

    auto log = AccessLog::open(cfg.access_log);
    if (!log) return make_error(log.error());
    s->access_log_ = std::move(log).value();

    Server* self = s.get();
    if (s->options_.all_slots)
        s->balancer_.emplace(s->options_.all_slots, s->options_.slot_count, s->options_.slot_index);
    for (auto& [fd, name] : s->options_.listeners) {
        const bool tls = is_tls_listener_name(name);
        if (tls && (!s->tls_ || !s->tls_->initial()))
            return make_error("listener " + name +
                              " speaks TLS but the default site has no certificate");
        if (tls && https_port == 0) https_port = local_port(fd.get());
        auto l = Listener::create(
            loop, *s->poller_, std::move(fd), name, static_cast<uint64_t>(cfg.defer_accept.count()),
            [self, tls](UniqueFd cfd, const sockaddr_storage& peer, bool data_expected) {
                self->on_accept(std::move(cfd), peer, data_expected, tls);
            },
            [self] { return self->balancer_ && self->balancer_->should_defer(self->active_); });
        if (!l) return make_error(l.error());
        s->listeners_.push_back(std::move(l).value());
    }
    s->options_.listeners.clear();
    s->redirect_handler_.emplace(https_port);

    uv_timer_init(loop, s->sweep_timer_.make());
    s->sweep_timer_.get()->data = self;
    uv_timer_init(loop, s->heartbeat_timer_.make());
    s->heartbeat_timer_.get()->data = self;
    uv_timer_init(loop, s->drain_deadline_.make());
    s->drain_deadline_.get()->data = self;

    if (s->options_.ipc) {
        uv_poll_t* p = s->ipc_poll_.make();
        if (int rc = uv_poll_init_socket(loop, p, s->options_.ipc.get()); rc != 0)
            return make_error(std::string("uv_poll_init_socket(master link) failed: ") +
                              uv_strerror(rc));
        p->data = self;
    }
    return s;
}

Server::~Server() {
    while (conn_head_) {
        Http1Session* c = conn_head_;
        conn_head_ = c->next;
        sessions_.destroy(c);
    }
    for (Http1Session* c : closed_) sessions_.destroy(c);
    access_log_.flush();
}

Status Server::start() {
    take_first_ticket_keys();
    set_state(WorkerState::serving);
    if (balancer_) balancer_->refresh(monotonic_ms());
    for (auto& l : listeners_) l->resume();
    uv_timer_start(
        sweep_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* s = static_cast<Server*>(t->data)) s->sweep();
        },
        kSweepMs, kSweepMs);
    uv_timer_start(
        heartbeat_timer_.get(),
        [](uv_timer_t* t) noexcept {
            if (auto* s = static_cast<Server*>(t->data)) s->heartbeat();
        },
        0, kHeartbeatMs);
    if (ipc_poll_) uv_poll_start(ipc_poll_.get(), UV_READABLE | UV_DISCONNECT, &Server::on_ipc);
    notify_master_ready();
    return {};
}

void Server::run() {
    poller_->run(*this);
}

void Server::end_of_batch() noexcept {
    // Sessions closed during the batch are freed here, where no callback of theirs is running.
    for (Http1Session* c : closed_) sessions_.destroy(c);
    closed_.clear();
    // One write(2) of the access log per batch of requests, not one per request.
    access_log_.flush();
}

void Server::set_state(WorkerState st) {
    if (options_.slot)
        options_.slot->state.store(static_cast<uint64_t>(st), std::memory_order_release);
}

void Server::notify_master_ready() {
    if (!options_.ipc) return;
    if (auto st = worker_message::send(options_.ipc.get(), worker_message::Type::ready); !st)
        log::error(st.error());
}

void Server::on_ipc(uv_poll_t* h, int status, int events) noexcept {
    auto* s = static_cast<Server*>(h->data);
    if (!s) return;
    bool gone = status < 0;
    // Bounded, so a link that keeps failing cannot spin here; the poll is level-triggered.
    for (int i = 0; i < 64 && !gone; ++i) {
        auto got = worker_message::receive(s->options_.ipc.get());
        if (!got) {
            log::error(got.error());
            continue;  // that datagram is consumed; read on
        }
        if (got->closed) gone = true;
        if (!got->message) break;
        s->on_master_message(*got->message);
    }
    if (!gone && !(events & UV_DISCONNECT)) return;
    // EOF: the master is gone. Finish what is in flight and exit rather than serve unsupervised.
    uv_poll_stop(h);
    s->begin_drain("the master process exited");
}

void Server::on_master_message(const worker_message::Message& m) {
    using worker_message::Type;
    switch (m.type) {
        case Type::ping:
            // The master's liveness check: answering proves this loop turns and the link works.
            if (auto st = worker_message::send(options_.ipc.get(), Type::pong, m.payload); !st)
                log::error(st.error());
            return;
        case Type::session_ticket_keys:
            if (!ticket_keys_) return;  // no TLS here
            if (auto st = ticket_keys_->replace(m.payload); !st)
                log::error(st.error(), "; keeping the previous session-ticket keys");
            else
                log::debug("session-ticket keys from the master: ", ticket_keys_->keys().size());
            return;
        case Type::ready:
        case Type::pong:
        case Type::acme_certificates:
        case Type::acme_status:
            break;
    }
    log::warn("unexpected ", worker_message::type_name(m.type), " message from the master");
}

void Server::take_first_ticket_keys() {
    if (!ticket_keys_ || !options_.ipc) return;
    constexpr uint64_t kWaitMs = 2000;
    const uint64_t deadline = monotonic_ms() + kWaitMs;
    while (!ticket_keys_->from_master()) {
        const uint64_t now = monotonic_ms();
        if (now >= deadline) {
            log::warn("no session-ticket keys from the master within ", kWaitMs,
                      " ms: this worker's tickets resume on it alone until they come");
            return;
        }
        pollfd p{options_.ipc.get(), POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(deadline - now));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            log::error(sys_error("poll", "the master link", errno));
            return;
        }
        if (n == 0) continue;
        auto got = worker_message::receive(options_.ipc.get());
        if (!got) {
            log::error(got.error());
            continue;
        }
        if (got->closed) return;  // on_ipc sees the EOF too, and drains
        if (got->message) on_master_message(*got->message);
    }
}

std::unique_ptr<http::RequestParser> Server::acquire_parser() {
    if (free_parsers_.empty()) {
        http::ParserLimits limits{options_.config.max_header_size, options_.config.max_body_size};
        return std::make_unique<http::RequestParser>(limits);
    }
    auto p = std::move(free_parsers_.back());
    free_parsers_.pop_back();
    return p;
}

void Server::release_parser(std::unique_ptr<http::RequestParser> parser) {
    if (free_parsers_.size() >= kPooledBuffers) return;
    parser->reset();
    free_parsers_.push_back(std::move(parser));
}

std::unique_ptr<http::Exchange> Server::acquire_exchange() {
    if (free_exchanges_.empty()) return std::make_unique<http::Exchange>();
    auto e = std::move(free_exchanges_.back());
    free_exchanges_.pop_back();
    return e;
}

void Server::release_exchange(std::unique_ptr<http::Exchange> ex) {
    if (free_exchanges_.size() >= kPooledBuffers) return;
    ex->reset();
    free_exchanges_.push_back(std::move(ex));
}

void Server::on_accept(UniqueFd fd, const sockaddr_storage& peer, bool data_expected, bool tls) {
    if (draining_) return;  // fd closes here; the listener is about to go away anyway
    if (active_ >= options_.config.max_connections) {
        // At the cap: leave further connections in the kernel queue (other workers may take
        // them) rather than accepting what we cannot serve.
        pause_for_cap();
        return;
    }
    Http1Session& c = add_session(peer);
    if (tls) {
        auto t = TlsTransport::create(fd, tls_->initial(), *poller_, c, options_.slot);
        if (!t) {  // logged; out of memory
            c.set_plain_transport(std::move(fd), *poller_);
            c.close_now();
            return;
        }
        TlsTransport* raw = t.get();
        c.set_transport(std::move(t), raw);
    } else {
        c.set_plain_transport(std::move(fd), *poller_);
    }
    if (active_ >= options_.config.max_connections) pause_for_cap();
    // Last: it may serve the request and close the connection right here.
    c.start(data_expected);
}

http::Handler& Server::https_handler_for(const http::Request& req, const TlsTransport* tls,
                                         std::string_view* hsts) {
    const Router::Site& site = router_->site_for(req);
    if (!tls) {
        if (site.redirect_https && !req.host.empty() && !HttpsRedirectHandler::exempt(req.target))
            return *redirect_handler_;
        return site.handler_for(req.target);
    }
    // SNI chose a site (and its certificate): a Host of another site is not for this
    // connection (RFC 9110, 15.5.20). Without SNI any Host may be asked for.
    if (tls->sni_site() >= 0 && router_->index_of(site) != static_cast<size_t>(tls->sni_site()))
        return *misdirected_handler_;
    *hsts = site.hsts;
    return site.handler_for(req.target);
}

Http1Session& Server::add_session(const sockaddr_storage& peer) {
    Http1Session* c = sessions_.create(*this, peer);
    c->next = conn_head_;
    if (conn_head_) conn_head_->prev = c;
    conn_head_ = c;
    ++active_;
    if (options_.slot) {
        options_.slot->connections_active.store(active_, std::memory_order_relaxed);
        bump(options_.slot->connections_total, 1);
    }
    return *c;
}

void Server::pause_for_cap() {
    for (auto& l : listeners_) l->pause();
    paused_for_cap_ = true;
    const uint64_t now = uv_now(loop_);
    if (cap_reported_ms_ == 0 || now - cap_reported_ms_ >= kCapReportEveryMs) {
        log::warn("max_connections (", options_.config.max_connections,
                  ") reached: new connections wait in the listen queue; idle keep-alive "
                  "connections are closed to make room");
        cap_reported_ms_ = now;
    }
}

void Server::make_room(uint64_t now_ms) {
    size_t evicted = 0;
    for (Http1Session* c = conn_head_; c && evicted < kEvictPerSweep;) {
        Http1Session* next = c->next;  // an eviction may unlink c
        if (c->evict_if_idle(now_ms, kEvictIdleMs)) ++evicted;
        c = next;
    }
}

void Server::session_closed(Http1Session* c) {
    if (c->prev) c->prev->next = c->next;
    if (c->next) c->next->prev = c->prev;
    if (conn_head_ == c) conn_head_ = c->next;
    c->next = c->prev = nullptr;
    closed_.push_back(c);
    --active_;
    if (options_.slot) options_.slot->connections_active.store(active_, std::memory_order_relaxed);
    if (paused_for_cap_ && !draining_ && active_ < options_.config.max_connections) {
        paused_for_cap_ = false;
        for (auto& l : listeners_) l->resume();
    }
    maybe_finish();
}

void Server::count_request(int status) {
    if (!options_.slot) return;
    options_.slot->requests.fetch_add(1, std::memory_order_relaxed);
    const int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        options_.slot->status_class[cls - 1].fetch_add(1, std::memory_order_relaxed);
}

void Server::log_refused(const sockaddr* peer, int status, std::string_view reason) {
    if (!log::enabled(log::Level::info)) return;
    const uint64_t now = uv_now(loop_);
    if (now - refused_window_ms_ >= 1000) {
        refused_window_ms_ = now;
        refused_logged_ = 0;
    }
    if (refused_logged_ >= kRefusalsLoggedPerSecond) {
        ++refused_suppressed_;
        return;
    }
    ++refused_logged_;
    const std::string from = AccessLog::peer_text(peer);
    if (refused_suppressed_ > 0) {
        log::info("refused a request from ", from, " with ", status, ": ", reason, " (",
                  refused_suppressed_, " more such lines suppressed)");
        refused_suppressed_ = 0;
    } else {
        log::info("refused a request from ", from, " with ", status, ": ", reason);
    }
}

void Server::count_bytes(uint64_t in, uint64_t out) {
    if (!options_.slot) return;
    if (in) options_.slot->bytes_in.fetch_add(in, std::memory_order_relaxed);
    if (out) options_.slot->bytes_out.fetch_add(out, std::memory_order_relaxed);
}

void Server::sweep() {
    if (balancer_) balancer_->refresh(monotonic_ms());
    const uint64_t now = uv_now(loop_);
    for (Http1Session* c = conn_head_; c;) {
        Http1Session* next = c->next;  // check_deadline may unlink c
        c->check_deadline(now);
        c = next;
    }
    if (paused_for_cap_ && !draining_) make_room(now);
}

void Server::heartbeat() {
    if (options_.slot) options_.slot->heartbeat_ms.store(monotonic_ms(), std::memory_order_relaxed);
    if (options_.upstream_slots && proxies_)
        proxies_->publish(options_.upstream_slots, StatsSegment::kMaxUpstreams);
}

void Server::begin_drain(const char* why) {
    if (draining_ || stopped_) return;
    draining_ = true;
    log::info("draining (", why, "): ", active_, " connection(s) open");
    set_state(WorkerState::draining);
    poller_->stop_polling();
    if (proxies_) proxies_->drain();
    for (auto& l : listeners_) l->close();
    for (Http1Session* c = conn_head_; c;) {
        Http1Session* next = c->next;
        c->on_drain_started();
        c = next;
    }
    uv_timer_start(
        drain_deadline_.get(),
        [](uv_timer_t* t) noexcept {
            auto* s = static_cast<Server*>(t->data);
            if (!s) return;
            log::warn("graceful_timeout reached with ", s->active_,
                      " connection(s) open; closing them");
            s->stop_now();
        },
        static_cast<uint64_t>(options_.config.graceful_timeout.count()), 0);
    maybe_finish();
}

void Server::stop_now() {
    if (stopped_) return;
    draining_ = true;
    for (auto& l : listeners_) l->close();
    while (conn_head_) conn_head_->close_now();
    stopped_ = true;
}

void Server::maybe_finish() {
    if (draining_ && active_ == 0 && !stopped_) stopped_ = true;
}

}  // namespace minid
