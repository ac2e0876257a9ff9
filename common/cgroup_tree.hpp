// Where this process sits in the cgroup hierarchies: the directories of its cgroup and of each
// ancestor, found from /proc/self/cgroup and /proc/self/mountinfo, in cgroup v2 or in the v1
// hierarchy that carries a given controller. Shared by the CPU quota and the cpuset readers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minid {

enum class CgroupVersion { v2, v1 };

// The texts of this process's /proc/self/cgroup and /proc/self/mountinfo.
struct SelfCgroupFiles {
    std::string self_cgroup;
    std::string mountinfo;
};
// nullopt when either cannot be read.
std::optional<SelfCgroupFiles> read_self_cgroup_files();

// The directory of the process's cgroup, then each ancestor's, up to and including the mount
// point (in a container, usually the container's own cgroup). `v1_controller` names the
// controller the v1 hierarchy must carry ("cpu", "cpuset"); v2 ignores it. Empty when the
// process is in no such hierarchy, or the mount shows another part of the tree, or the path
// leads outside the process's cgroup namespace ("/../..").
std::vector<std::string> cgroup_dirs_upward(std::string_view self_cgroup,
                                            std::string_view mountinfo, CgroupVersion version,
                                            std::string_view v1_controller = "");

// A small kernel file (at most 1 MiB); nullopt when it cannot be read.
std::optional<std::string> read_small_file(const std::string& path);

}  // namespace minid
