// ProxyUpstreams: pools and handlers per upstream.
#include "worker/proxy/proxy_upstreams.hpp"

#include <cstdlib>

namespace minid::proxy {
namespace {

// Where buffered bodies beyond memory go (unlinked files): $TMPDIR, else /tmp. Under
// minid.service that is the unit's private /tmp.
std::string temp_dir() {
    const char* dir = std::getenv("TMPDIR");
    return dir && dir[0] == '/' ? dir : "/tmp";
}

}  // namespace

Result<std::unique_ptr<ProxyUpstreams>> ProxyUpstreams::create(const Config& config,
                                                               IoPoller& poller, uv_loop_t* loop) {
    auto out = std::make_unique<ProxyUpstreams>();
    const std::string dir = temp_dir();
    auto trusted = CidrList::parse(config.trusted_proxies);
    if (!trusted) return make_error("trusted_proxies: " + trusted.error());
    out->trusted_ = std::move(trusted).value();
    for (const UpstreamSettings& u : config.upstreams) {
        auto pool = UpstreamPool::create(u, poller, loop);
        if (!pool) return make_error(pool.error());
        Entry e;
        e.name = u.name;
        e.pool = std::move(pool).value();
        e.handler = std::make_unique<ProxyHandler>(*e.pool, loop, dir, false, out->trusted_);
        e.streaming = std::make_unique<ProxyHandler>(*e.pool, loop, dir, true, out->trusted_);
        out->entries_.push_back(std::move(e));
    }
    return out;
}

http::Handler* ProxyUpstreams::handler(std::string_view name, bool stream) {
    for (Entry& e : entries_)
        if (e.name == name) return stream ? e.streaming.get() : e.handler.get();
    return nullptr;
}

void ProxyUpstreams::publish(UpstreamSlot* slots, size_t count) const {
    constexpr auto r = std::memory_order_relaxed;
    for (size_t i = 0; i < entries_.size() && i < count; ++i) {
        const UpstreamPool& p = *entries_[i].pool;
        UpstreamSlot& s = slots[i];
        s.requests.store(p.counters.requests, r);
        s.retries.store(p.counters.retries, r);
        s.connect_errors.store(p.counters.connect_errors, r);
        s.timeouts.store(p.counters.timeouts, r);
        s.bad_responses.store(p.counters.bad_responses, r);
        s.queue_full.store(p.counters.queue_full, r);
        s.open.store(p.open_connections(), r);
        s.idle.store(p.idle_connections(), r);
    }
}

void ProxyUpstreams::drain() {
    for (Entry& e : entries_) e.pool->drain();
}

}  // namespace minid::proxy
