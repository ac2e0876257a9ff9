// Rules that span [site] sections: valid and unique names, each host claimed by one site, at most
// one default, every site reachable and with a root. One implementation for the parser (which
// adds file:line to each problem) and validate_config (a Config built or overridden in code).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace minid {

struct SiteProblem {
    // What is wrong; it also says where it shows in a file.
    enum class Kind {
        bad_name,          // at the [site NAME] line of `site`
        duplicate_name,    // ditto; `other` is the first site of that name
        no_root,           // ditto
        unreachable,       // ditto: no hosts and not the default
        second_default,    // at the `default` line of `site`; `other` is the first default
        host_twice,        // at the hosts line that lists sites[site].hosts[host]
        host_taken,        // ditto; `other`/`other_host` claimed it first
        http_root_unused,  // at [http]'s root line; `site` is the default site
    };
    Kind kind = Kind::bad_name;
    size_t site = 0;
    size_t host = 0;
    // The site the problem collides with, or -1; the parser names its line.
    long other = -1;
    size_t other_host = 0;  // for Anchor::host
    std::string message;
};

std::vector<SiteProblem> site_problems(const Config& config);

}  // namespace minid
