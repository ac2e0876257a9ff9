// Reads the CPU quota that applies to this process from the cgroup files, v2 and v1, so the
// master can keep workers from spinning away a systemd CPUQuota= (or a container's CPU limit).
#include "daemon/cpu_quota.hpp"

#include <charconv>
#include <vector>

#include "common/cgroup_tree.hpp"
#include "common/split.hpp"
#include "common/trim.hpp"

namespace minid {
namespace {

std::optional<long long> to_number(std::string_view s) {
    long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

void take_tightest(std::optional<CpuQuota>& best, std::optional<double> cpus, std::string source) {
    if (cpus && (!best || *cpus < best->cpus)) best = CpuQuota{*cpus, std::move(source)};
}

// Reads the quota of each directory (the cgroup's and its ancestors').
void scan(const std::vector<std::string>& dirs, CgroupVersion version,
          std::optional<CpuQuota>& best) {
    for (const std::string& dir : dirs) {
        if (version == CgroupVersion::v2) {
            const std::string file = dir + "/cpu.max";
            if (auto t = read_small_file(file)) take_tightest(best, parse_cpu_max(*t), file);
        } else {
            const std::string file = dir + "/cpu.cfs_quota_us";
            auto quota = read_small_file(file);
            auto period = read_small_file(dir + "/cpu.cfs_period_us");
            if (quota && period) take_tightest(best, parse_cfs_quota(*quota, *period), file);
        }
    }
}

}  // namespace

std::optional<double> parse_cpu_max(std::string_view text) {
    const std::vector<std::string_view> f = split(trim(text), ' ');
    if (f.size() != 2) return std::nullopt;
    const auto quota = to_number(f[0]);
    const auto period = to_number(f[1]);
    if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
    return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> parse_cfs_quota(std::string_view quota_us, std::string_view period_us) {
    const auto quota = to_number(trim(quota_us));
    const auto period = to_number(trim(period_us));
    if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
    return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<CpuQuota> find_cpu_quota(std::string_view self_cgroup, std::string_view mountinfo) {
    std::optional<CpuQuota> best;
    for (const CgroupVersion v : {CgroupVersion::v2, CgroupVersion::v1})
        scan(cgroup_dirs_upward(self_cgroup, mountinfo, v, "cpu"), v, best);
    return best;
}

std::optional<CpuQuota> current_cpu_quota() {
    const auto self = read_self_cgroup_files();
    if (!self) return std::nullopt;
    return find_cpu_quota(self->self_cgroup, self->mountinfo);
}

}  // namespace minid
