// Rules that span [upstream NAME] sections and the proxy keys that name them: valid and unique
// names, at least one server each, every proxy route and fallback naming an upstream that exists.
// One implementation for the parser (which adds file:line) and validate_config.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace minid {

struct UpstreamProblem {
    enum class Kind {
        bad_name,        // at the [upstream NAME] line of upstreams[index]
        duplicate_name,  // ditto
        no_server,       // ditto
        unknown,         // a proxy key names no upstream: `site` (-1 = [http]) and `route`
    };
    static constexpr size_t kFallback = static_cast<size_t>(-1);  // `route` of proxy_fallback

    Kind kind = Kind::bad_name;
    size_t index = 0;  // upstream index (bad_name, duplicate_name, no_server)
    long site = -1;    // unknown: index into Config::sites, -1 for [http]
    size_t route = 0;  // unknown: index into the proxy list, or kFallback
    std::string message;
};

std::vector<UpstreamProblem> upstream_problems(const Config& config);

}  // namespace minid
