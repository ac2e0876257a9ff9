// mountinfo text for fake cgroup trees in a TempTree, for the tests of the cgroup readers
// (daemon/cpu_quota, common/usable_cpus).
#pragma once

#include <initializer_list>
#include <string>

#include "tests/unit/worker/http/temp_tree.hpp"

namespace minid {

// cgroup2 mounted at t/cg, showing the hierarchy from `root` ("/" on a host; a container's own
// cgroup inside one), after an unrelated proc line.
inline std::string v2_mountinfo(const http::testing::TempTree& t, const std::string& root = "/") {
    return "24 1 0:22 / /proc rw - proc proc rw\n"
           "30 23 0:26 " +
           root + " " + t.path("cg") +
           " rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
}

// One cgroup v1 hierarchy per name, mounted at t/NAME with the controllers the name lists
// ("cpu,cpuacct"), in that order.
inline std::string v1_mountinfo(const http::testing::TempTree& t,
                                std::initializer_list<std::string> hierarchies) {
    std::string text;
    int id = 32;
    for (const std::string& h : hierarchies) {
        text += std::to_string(id) + " 31 0:" + std::to_string(id - 3) + " / " + t.path(h) +
                " rw - cgroup cgroup rw," + h + "\n";
        ++id;
    }
    return text;
}

}  // namespace minid
