// ProxyHandler: the handler of every route to one [upstream NAME]. Refuses what a reverse proxy
// must never forward (CONNECT, an absolute-form target for another host), then hands the
// exchange to a pooled ProxyRequest.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "worker/http/handler.hpp"
#include "worker/proxy/proxy_request.hpp"
#include "worker/proxy/upstream_pool.hpp"

namespace minid::proxy {

class ProxyHandler final : public http::Handler {
  public:
    // `stream`: every response is streamed (a route's "stream"), not only event streams.
    // `trusted`: the peers whose X-Forwarded-For is appended to; must outlive the handler.
    ProxyHandler(UpstreamPool& pool, uv_loop_t* loop, std::string temp_dir, bool stream,
                 const CidrList& trusted)
        : pool_(pool),
          loop_(loop),
          temp_dir_(std::move(temp_dir)),
          stream_(stream),
          trusted_(trusted) {}

    void handle(http::Exchange& ex) override;

    // --- for ProxyRequest ---
    void release(ProxyRequest* r) { free_.push_back(r); }
    const std::string& temp_dir() const { return temp_dir_; }
    const CidrList& trusted_proxies() const { return trusted_; }
    // Requests in flight (not pooled).
    size_t active() const { return all_.size() - free_.size(); }

  private:
    UpstreamPool& pool_;
    uv_loop_t* loop_;
    std::string temp_dir_;
    bool stream_;
    const CidrList& trusted_;
    std::vector<std::unique_ptr<ProxyRequest>> all_;
    std::vector<ProxyRequest*> free_;
};

// A small error page answered by the proxy itself (502, 503, 504, 400, 405).
void proxy_error_response(int status, std::time_t now, http::Response& out);

}  // namespace minid::proxy
