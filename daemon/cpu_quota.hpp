// The CPU quota of this process's cgroup (cgroup v2 cpu.max, v1 cpu.cfs_quota_us), the tightest
// over its cgroup and their ancestors: a busy-polling worker spends it while it waits.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace minid {

struct CpuQuota {
    double cpus = 0;     // quota ÷ period: 0.5 is half of one CPU
    std::string source;  // the file that sets it, for the log
};

// cgroup v2 cpu.max: "50000 100000" -> 0.5; "max 100000" (no limit) or malformed -> nullopt.
std::optional<double> parse_cpu_max(std::string_view text);
// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us: "-1" (no limit) or malformed -> nullopt.
std::optional<double> parse_cfs_quota(std::string_view quota_us, std::string_view period_us);

// From the texts of /proc/self/cgroup and /proc/self/mountinfo: finds the process's cgroup in
// the cgroup2 hierarchy and in a v1 hierarchy with the cpu controller, and reads the quota
// files of that cgroup and each ancestor up to the mount point. nullopt: no quota (or nothing
// readable, which is treated the same: polling then stays as configured).
std::optional<CpuQuota> find_cpu_quota(std::string_view self_cgroup, std::string_view mountinfo);

// find_cpu_quota on this process's /proc/self files.
std::optional<CpuQuota> current_cpu_quota();

}  // namespace minid
