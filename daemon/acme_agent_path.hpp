// Where the master finds the ACME agent's program (minid-acme-agent, acme/agent_main.cpp): next
// to the minid binary first (a build tree, or a prefix that installs both in one directory), else
// where the package installs it (build::acme_agent_path, /usr/libexec/minid/ in the .deb).
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace minid {

inline constexpr std::string_view kAcmeAgentProgram = "minid-acme-agent";

// The first candidate that is an executable regular file. Otherwise an error naming every
// candidate with its reason ("PATH: No such file or directory; PATH: ..."), for `minid -t`, the
// start and the reload of a config with a site at tls = auto.
Result<std::string> find_acme_agent(const std::string& minid_path,
                                    const std::string& installed_path);
// find_acme_agent(minid_path, build::acme_agent_path).
Result<std::string> find_acme_agent(const std::string& minid_path);

}  // namespace minid
