// ProxyUpstreams: a worker's reverse-proxy state: one connection pool and one handler per
// [upstream NAME], built from the config when the worker starts; the Router's routes point at
// the handlers.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"
#include "common/config.hpp"
#include "common/result.hpp"
#include "common/stats_segment.hpp"
#include "worker/io_poller.hpp"
#include "worker/proxy/proxy_handler.hpp"
#include "worker/proxy/upstream_pool.hpp"

namespace minid::proxy {

class ProxyUpstreams {
  public:
    static Result<std::unique_ptr<ProxyUpstreams>> create(const Config& config, IoPoller& poller,
                                                          uv_loop_t* loop);
    // The handler of [upstream NAME] (the one that streams every response when `stream`), or
    // null.
    http::Handler* handler(std::string_view name, bool stream = false);
    // The worker drains: idle connections close, none are kept from now on.
    void drain();
    // Copies each pool's counters into slots[i] (config order, the first `count` upstreams).
    void publish(UpstreamSlot* slots, size_t count) const;
    size_t size() const { return entries_.size(); }
    const UpstreamPool& pool(size_t i) const { return *entries_[i].pool; }

  private:
    struct Entry {
        std::string name;
        std::unique_ptr<UpstreamPool> pool;
        std::unique_ptr<ProxyHandler> handler;  // declared after pool: destroyed first
        std::unique_ptr<ProxyHandler> streaming;
    };
    CidrList trusted_;  // [http] trusted_proxies; the handlers hold a reference
    std::vector<Entry> entries_;
};

}  // namespace minid::proxy
