// The cross-section rules of the reverse proxy's config; see config_upstreams.hpp.
#include "common/config_upstreams.hpp"

#include <set>

#include "common/config_keys.hpp"

namespace minid {
namespace {

std::string upstream_ref(const UpstreamSettings& u) {
    return "[upstream " + u.name + "]";
}

void check_routes(const Config& config, long site, const std::vector<ProxyRoute>& proxy,
                  const std::string& fallback, std::vector<UpstreamProblem>& out) {
    const std::string where = site < 0 ? "[http]" : "[site " + config.sites[site].name + "]";
    for (size_t r = 0; r < proxy.size(); ++r) {
        if (config.find_upstream(proxy[r].upstream)) continue;
        out.push_back({UpstreamProblem::Kind::unknown, 0, site, r,
                       "proxy = " + proxy[r].prefix + " " + proxy[r].upstream + " in " + where +
                           ": no [upstream " + proxy[r].upstream + "] section"});
    }
    if (!fallback.empty() && !config.find_upstream(fallback))
        out.push_back({UpstreamProblem::Kind::unknown, 0, site, UpstreamProblem::kFallback,
                       "proxy_fallback = " + fallback + " in " + where + ": no [upstream " +
                           fallback + "] section"});
}

}  // namespace

std::vector<UpstreamProblem> upstream_problems(const Config& config) {
    using Kind = UpstreamProblem::Kind;
    std::vector<UpstreamProblem> out;
    std::set<std::string> names;
    for (size_t i = 0; i < config.upstreams.size(); ++i) {
        const UpstreamSettings& u = config.upstreams[i];
        if (!valid_section_name(u.name))
            out.push_back({Kind::bad_name, i, -1, 0,
                           "invalid upstream name '" + u.name +
                               "': use up to 64 letters, digits, '.', '_' and '-', as in "
                               "[upstream app]"});
        else if (!names.insert(u.name).second)
            out.push_back({Kind::duplicate_name, i, -1, 0,
                           "duplicate section " + upstream_ref(u) + ": already defined"});
        if (u.servers.empty())
            out.push_back(
                {Kind::no_server, i, -1, 0,
                 upstream_ref(u) + " has no server: set server = unix:/run/app.sock or HOST:PORT"});
    }
    check_routes(config, -1, config.proxy, config.proxy_fallback, out);
    for (size_t s = 0; s < config.sites.size(); ++s)
        check_routes(config, static_cast<long>(s), config.sites[s].proxy,
                     config.sites[s].proxy_fallback, out);
    return out;
}

}  // namespace minid
