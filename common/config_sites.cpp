// The cross-site rules of minid.conf; see config_sites.hpp.
#include "common/config_sites.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

namespace minid {
namespace {

constexpr size_t kMaxSiteName = 64;

bool valid_site_name(const std::string& name) {
    return !name.empty() && name.size() <= kMaxSiteName &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                      c == '-';
           });
}

std::string site_ref(const SiteSettings& s) {
    return "[site " + s.name + "]";
}

}  // namespace

std::vector<SiteProblem> site_problems(const Config& config) {
    using Kind = SiteProblem::Kind;
    std::vector<SiteProblem> out;
    std::map<std::string, size_t> by_name;
    std::map<std::string, std::pair<size_t, size_t>> by_host;  // pattern -> (site, host index)
    long first_default = -1;
    for (size_t i = 0; i < config.sites.size(); ++i) {
        const SiteSettings& s = config.sites[i];
        if (!valid_site_name(s.name)) {
            out.push_back({Kind::bad_name, i, 0, -1, 0,
                           "invalid site name '" + s.name +
                               "': use up to 64 letters, digits, '.', '_' and '-', as in "
                               "[site example.com]"});
        } else if (auto [it, fresh] = by_name.emplace(s.name, i); !fresh) {
            out.push_back({Kind::duplicate_name, i, 0, static_cast<long>(it->second), 0,
                           "duplicate section " + site_ref(s) + ": already defined"});
        }
        if (s.root.empty())
            out.push_back({Kind::no_root, i, 0, -1, 0,
                           site_ref(s) + " has no root: set root = /absolute/path"});
        if (s.is_default) {
            if (first_default < 0) {
                first_default = static_cast<long>(i);
            } else {
                out.push_back({Kind::second_default, i, 0, first_default, 0,
                               "a second default site: " +
                                   site_ref(config.sites[static_cast<size_t>(first_default)]) +
                                   " is already the default"});
            }
        } else if (s.hosts.empty()) {
            out.push_back({Kind::unreachable, i, 0, -1, 0,
                           site_ref(s) +
                               " has no hosts and is not the default, so no request can reach "
                               "it: set hosts = NAME ... or default = on"});
        }
        for (size_t h = 0; h < s.hosts.size(); ++h) {
            auto [it, fresh] = by_host.emplace(s.hosts[h], std::pair{i, h});
            if (fresh) continue;
            const auto [other_site, other_host] = it->second;
            if (other_site == i) {
                out.push_back({Kind::host_twice, i, h, -1, 0,
                               "host '" + s.hosts[h] + "' is listed twice in " + site_ref(s)});
            } else {
                out.push_back({Kind::host_taken, i, h, static_cast<long>(other_site), other_host,
                               "host '" + s.hosts[h] + "' is already claimed by " +
                                   site_ref(config.sites[other_site])});
            }
        }
    }
    if (first_default >= 0 && !config.root.empty()) {
        const SiteSettings& d = config.sites[static_cast<size_t>(first_default)];
        out.push_back({Kind::http_root_unused, static_cast<size_t>(first_default), 0, -1, 0,
                       "root in [http] is not used: " + site_ref(d) +
                           " is the default site; remove one of them"});
    }
    return out;
}

}  // namespace minid
