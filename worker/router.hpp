// Router: picks the site that answers a request by its Host (later also by TLS SNI), and within
// the site the handler by path prefix. Built once per worker from the Config; no libuv, no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"
#include "worker/http/handler.hpp"
#include "worker/http/request.hpp"
#include "worker/http/static_handler.hpp"

namespace minid {

class Router {
  public:
    // The handler for targets that start with `prefix`: the site's files (or files then
    // proxy_fallback) at "/", and a proxy handler per `proxy = PREFIX UPSTREAM`.
    struct Route {
        std::string prefix;
        http::Handler* handler = nullptr;  // owned by the site or by the worker's upstreams
    };

    // The proxy handler of an [upstream NAME]; owned by the worker, it outlives the router.
    // `stream`: the route streams responses instead of buffering them.
    using ProxyHandlers = std::function<http::Handler*(std::string_view upstream, bool stream)>;

    struct Site {
        std::string name;  // [site NAME]; "" for the default site of [http]
        std::unique_ptr<http::StaticHandler> files;  // the site's root (and its error pages)
        std::unique_ptr<http::Handler> fallback;     // files, else proxy_fallback; may be null
        std::vector<Route> routes;                   // longest prefix first; the last one is "/"
        // HTTPS: "max-age=N" for Strict-Transport-Security on TLS responses ("" = none), and
        // whether plain-HTTP requests are redirected to https.
        std::string hsts;
        bool redirect_https = false;
        // The route whose prefix starts `path` (origin-form), else the last ("/") route, which
        // also answers targets that are not origin-form ("*", absolute-form).
        http::Handler& handler_for(std::string_view path) const;
    };

    // One site per [site] plus [http]'s root unless a [site] is the default; each opens its root.
    // `proxies` gives the handler of each upstream that a proxy key names (required then).
    static Result<Router> create(const Config& config, const ProxyHandlers& proxies = {});

    // The site for a request: the authority of an absolute-form target if there is one (RFC
    // 9112, 3.2.2: it overrides Host), else the Host header; no Host -> the default site.
    const Site& site_for(const http::Request& req) const;
    // The site for a host as sent: any case, an optional ":port" (also after "[v6]"), an
    // optional trailing dot. Exact names first, then the longest matching "*.suffix", else the
    // default site.
    const Site& site_for_host(std::string_view host) const;
    const Site& default_site() const { return sites_[default_]; }
    size_t site_count() const { return sites_.size(); }
    const Site& site(size_t index) const { return sites_[index]; }
    size_t index_of(const Site& site) const { return static_cast<size_t>(&site - sites_.data()); }
    // Whether some site redirects plain HTTP (plain requests then need their site looked up).
    bool redirects_http() const { return redirects_http_; }

    // The handler for a request: its site's route for its target.
    http::Handler& handler_for(const http::Request& req) const {
        if (only_handler_) return *only_handler_;  // no hosts and no prefixes: the common case
        return site_for(req).handler_for(req.target);
    }
    // For responses to requests refused before routing (parse errors, 503).
    http::StaticHandler& default_handler() const { return *default_site().files; }

  private:
    // Open addressing over names hashed from their last character to their first, so that one
    // backward pass over a request's host yields the hash of the whole name and of the suffix
    // after each of its dots (the wildcard candidates).
    class HostTable {
      public:
        static constexpr size_t npos = static_cast<size_t>(-1);
        static uint64_t hash(std::string_view name);
        // Keeps the first site given for a name.
        void build(const std::vector<std::pair<std::string, size_t>>& entries);
        size_t find(std::string_view name, uint64_t hash) const;
        bool empty() const { return count_ == 0; }

      private:
        struct Slot {
            uint64_t hash = 0;
            size_t site = npos;  // npos: empty slot
            std::string name;
        };
        std::vector<Slot> slots_;
        size_t count_ = 0;
    };

    std::vector<Site> sites_;
    size_t default_ = 0;
    HostTable exact_;     // "www.example.com" -> index in sites_
    HostTable wildcard_;  // "example.org" for "*.example.org" -> index in sites_
    http::Handler* only_handler_ = nullptr;
    bool redirects_http_ = false;
};

}  // namespace minid
