// Router implementation: host canonicalisation (case, port, trailing dot), exact and wildcard
// lookup, and building one StaticHandler per site with a share of the file-cache budget.
#include "worker/router.hpp"

#include <algorithm>
#include <array>

#include "common/host_pattern.hpp"
#include "worker/http/ascii.hpp"
#include "worker/static_fallback_handler.hpp"

namespace minid {
namespace {

// Longer than any DNS name (253) or bracketed IPv6 literal: such a Host matches no pattern.
constexpr size_t kMaxHost = 256;

// The authority of an absolute-form target ("http://a.example:8080/x" -> "a.example:8080"),
// without userinfo; "" for origin-form and anything else.
std::string_view authority_of(std::string_view target) {
    if (target.empty() || target.front() == '/') return {};
    std::string_view rest;
    if (target.size() >= 7 && http::ascii::iequals(target.substr(0, 7), "http://"))
        rest = target.substr(7);
    else if (target.size() >= 8 && http::ascii::iequals(target.substr(0, 8), "https://"))
        rest = target.substr(8);
    else
        return {};
    size_t end = 0;
    while (end < rest.size() && rest[end] != '/' && rest[end] != '?' && rest[end] != '#') ++end;
    std::string_view authority = rest.substr(0, end);
    if (const size_t at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    return authority;
}

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

// `host` as sent -> the part patterns are compared with: no port, no trailing dot (still in the
// case it was sent in). "" when there is none or it is too long to match anything.
std::string_view host_name(std::string_view host) {
    std::string_view name;
    if (!host.empty() && host.front() == '[') {
        const size_t close = host.find(']');
        if (close == std::string_view::npos) return {};
        name = host.substr(0, close + 1);
    } else {
        name = host.substr(0, host.find(':'));
        if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    }
    if (name.size() > kMaxHost) return {};
    return name;
}

// Each site caches its own files; together they keep to about one worker's default budget, so
// adding sites does not multiply a worker's memory or open files.
http::FileCacheLimits cache_share(size_t sites) {
    http::FileCacheLimits l;
    if (sites <= 1) return l;
    l.max_entries = std::max<size_t>(l.max_entries / sites, 64);
    l.max_open_files = std::max<size_t>(l.max_open_files / sites, 16);
    l.max_memory = std::max<uint64_t>(l.max_memory / sites, 4ull << 20);
    return l;
}

// The header value of an hsts setting: whole seconds ("" when off).
std::string hsts_value(Millis hsts) {
    if (hsts.count() <= 0) return {};
    return "max-age=" + std::to_string(hsts.count() / 1000);
}

struct SiteProxy {
    const std::vector<ProxyRoute>& proxy;
    const std::string& fallback;
};

Result<Router::Site> make_site(std::string name, const http::SiteConfig& config,
                               const http::FileCacheLimits& limits, SiteProxy proxy,
                               const Router::ProxyHandlers& proxies) {
    const std::string where = name.empty() ? "" : "[site " + name + "]: ";
    auto handler = http::StaticHandler::create(config, limits);
    if (!handler) return make_error(where + handler.error());
    Router::Site site;
    site.name = std::move(name);
    site.files = std::move(handler).value();
    auto upstream = [&](const std::string& u, bool stream) -> Result<http::Handler*> {
        http::Handler* h = proxies ? proxies(u, stream) : nullptr;
        if (!h) return make_error(where + "no proxy handler for [upstream " + u + "]");
        return h;
    };
    for (const ProxyRoute& r : proxy.proxy) {
        auto h = upstream(r.upstream, r.stream);
        if (!h) return make_error(h.error());
        site.routes.push_back({r.prefix, *h});
    }
    // Longest prefix first, so the first match is the longest.
    std::stable_sort(site.routes.begin(), site.routes.end(),
                     [](const Router::Route& a, const Router::Route& b) {
                         return a.prefix.size() > b.prefix.size();
                     });
    if (site.routes.empty() || site.routes.back().prefix != "/") {
        http::Handler* root = site.files.get();
        if (!proxy.fallback.empty()) {
            auto h = upstream(proxy.fallback, false);
            if (!h) return make_error(h.error());
            site.fallback = std::make_unique<StaticFallbackHandler>(*site.files, **h);
            root = site.fallback.get();
        }
        site.routes.push_back({"/", root});
    }
    return site;
}

}  // namespace

http::Handler& Router::Site::handler_for(std::string_view path) const {
    for (const Route& r : routes)
        if (path.starts_with(r.prefix)) return *r.handler;
    return *routes.back().handler;
}

Result<Router> Router::create(const Config& config, const ProxyHandlers& proxies) {
    Router router;
    const bool http_site = config.default_site() == nullptr;
    const http::FileCacheLimits limits = cache_share(config.sites.size() + (http_site ? 1 : 0));
    if (http_site) {
        auto site = make_site("", {config.root, config.index, config.server_name}, limits,
                              {config.proxy, config.proxy_fallback}, proxies);
        if (!site) return make_error(site.error());
        site->hsts = hsts_value(config.hsts);
        site->redirect_https = config.redirect_https;
        router.sites_.push_back(std::move(site).value());
    }
    std::vector<std::pair<std::string, size_t>> exact;
    std::vector<std::pair<std::string, size_t>> wildcard;
    for (const SiteSettings& s : config.sites) {
        auto site = make_site(s.name, {s.root, s.index, s.server_name}, limits,
                              {s.proxy, s.proxy_fallback}, proxies);
        if (!site) return make_error(site.error());
        site->hsts = hsts_value(s.hsts);
        site->redirect_https = s.redirect_https;
        const size_t index = router.sites_.size();
        if (s.is_default) router.default_ = index;
        for (const std::string& pattern : s.hosts) {
            if (is_wildcard_pattern(pattern))
                wildcard.emplace_back(pattern.substr(2), index);
            else
                exact.emplace_back(pattern, index);
        }
        router.sites_.push_back(std::move(site).value());
    }
    // validate_config() refuses a host claimed twice; were one to slip through, the first site
    // keeps it, as in the file.
    for (const Site& s : router.sites_) router.redirects_http_ |= s.redirect_https;
    router.exact_.build(exact);
    router.wildcard_.build(wildcard);
    if (router.exact_.empty() && router.wildcard_.empty() &&
        router.default_site().routes.size() == 1)
        router.only_handler_ = router.default_site().routes.front().handler;
    return router;
}

const Router::Site& Router::site_for(const http::Request& req) const {
    const std::string_view authority = authority_of(req.target);
    return site_for_host(authority.empty() ? req.host : authority);
}

const Router::Site& Router::site_for_host(std::string_view host) const {
    const std::string_view sent = host_name(host);
    if (sent.empty()) return default_site();
    // One backward pass lowers the case and hashes the name and every suffix after a dot.
    struct Suffix {
        size_t pos;
        uint64_t hash;
    };
    std::array<char, kMaxHost> buf;
    std::array<Suffix, kMaxHost> suffixes;
    size_t dots = 0;
    uint64_t h = kFnvOffset;
    for (size_t i = sent.size(); i-- > 0;) {
        const char c = http::ascii::to_lower(sent[i]);
        buf[i] = c;
        if (c == '.') suffixes[dots++] = {i + 1, h};
        h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
    }
    const std::string_view name(buf.data(), sent.size());
    if (size_t site = exact_.find(name, h); site != HostTable::npos) return sites_[site];
    // "*.example.org" matches one or more labels in front of example.org. The leftmost dot
    // (found last) gives the longest suffix, so the most specific wildcard wins.
    if (name.front() != '[' && !wildcard_.empty()) {
        for (size_t k = dots; k-- > 0;) {
            const size_t site = wildcard_.find(name.substr(suffixes[k].pos), suffixes[k].hash);
            if (site != HostTable::npos) return sites_[site];
        }
    }
    return default_site();
}

uint64_t Router::HostTable::hash(std::string_view name) {
    uint64_t h = kFnvOffset;
    for (size_t i = name.size(); i-- > 0;)
        h = (h ^ static_cast<unsigned char>(name[i])) * kFnvPrime;
    return h;
}

void Router::HostTable::build(const std::vector<std::pair<std::string, size_t>>& entries) {
    size_t capacity = 8;
    while (capacity < 2 * entries.size()) capacity *= 2;  // at most half full: short probes
    slots_.assign(capacity, Slot{});
    count_ = 0;
    for (const auto& [name, site] : entries) {
        const uint64_t h = hash(name);
        for (size_t i = h & (capacity - 1);; i = (i + 1) & (capacity - 1)) {
            Slot& slot = slots_[i];
            if (slot.site == npos) {
                slot = {h, site, name};
                ++count_;
                break;
            }
            if (slot.hash == h && slot.name == name) break;
        }
    }
}

size_t Router::HostTable::find(std::string_view name, uint64_t h) const {
    if (count_ == 0) return npos;
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (slot.site == npos) return npos;
        if (slot.hash == h && slot.name == name) return slot.site;
    }
}

}  // namespace minid
