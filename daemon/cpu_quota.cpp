// Reads the CPU quota that applies to this process from the cgroup files, v2 and v1, so the
// master can keep workers from spinning away a systemd CPUQuota= (or a container's CPU limit).
#include "daemon/cpu_quota.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <vector>

#include "common/trim.hpp"
#include "common/unique_fd.hpp"

namespace minid {
namespace {

std::optional<long long> to_number(std::string_view s) {
    long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (size_t start = 0;;) {
        const size_t at = s.find(sep, start);
        out.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

bool has_item(std::string_view comma_list, std::string_view item) {
    for (std::string_view i : split(comma_list, ','))
        if (i == item) return true;
    return false;
}

// mountinfo writes space, tab, newline and backslash in paths as \ooo octal.
std::string unescape_mount_path(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            const std::string_view oct = s.substr(i + 1, 3);
            if (oct.find_first_not_of("01234567") == std::string_view::npos) {
                out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::optional<std::string> read_small_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    char buf[4096];
    std::string out;
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) return std::nullopt;
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > (1u << 20)) return std::nullopt;  // not a cgroup or proc file
    }
}

struct Mount {
    std::string root;   // the part of the hierarchy shown at the mount point ("/" usually)
    std::string point;  // where it is mounted
};

// The mount of the cgroup2 hierarchy (v2) or of the v1 hierarchy carrying the cpu controller.
std::optional<Mount> find_mount(std::string_view mountinfo, bool v2) {
    for (std::string_view line : split(mountinfo, '\n')) {
        const std::vector<std::string_view> f = split(trim(line), ' ');
        size_t dash = 6;  // optional fields come between the 6th field and "-"
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (f.size() < 5 || dash + 3 >= f.size()) continue;
        const std::string_view fstype = f[dash + 1];
        const bool match =
            v2 ? fstype == "cgroup2" : fstype == "cgroup" && has_item(f[dash + 3], "cpu");
        if (match) return Mount{unescape_mount_path(f[3]), unescape_mount_path(f[4])};
    }
    return std::nullopt;
}

// The process's cgroup path in that hierarchy, from /proc/self/cgroup ("ID:controllers:path").
std::optional<std::string> find_cgroup_path(std::string_view self_cgroup, bool v2) {
    for (std::string_view line : split(self_cgroup, '\n')) {
        line = trim(line);
        const size_t c1 = line.find(':');
        const size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
        if (c2 == std::string_view::npos) continue;
        const std::string_view id = line.substr(0, c1);
        const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
        const bool match = v2 ? id == "0" && controllers.empty() : has_item(controllers, "cpu");
        if (match) return std::string(line.substr(c2 + 1));
    }
    return std::nullopt;
}

// The directory of `path` under the mount; nullopt when the mount shows another part of the
// tree, or the path leads outside the process's cgroup namespace ("/../..").
std::optional<std::string> cgroup_dir(const Mount& m, std::string_view path) {
    if (path.empty() || path.front() != '/' || path.find("/..") != std::string_view::npos)
        return std::nullopt;
    std::string_view rel = path;
    if (m.root != "/") {
        if (path.substr(0, m.root.size()) != m.root) return std::nullopt;
        rel = path.substr(m.root.size());
        if (!rel.empty() && rel.front() != '/') return std::nullopt;
    }
    std::string dir = m.point;
    if (rel != "/") dir += rel;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir;
}

void take_tightest(std::optional<CpuQuota>& best, std::optional<double> cpus, std::string source) {
    if (cpus && (!best || *cpus < best->cpus)) best = CpuQuota{*cpus, std::move(source)};
}

// Reads the quota of `dir` and each ancestor up to the mount point.
void scan_up(const Mount& m, std::string dir, bool v2, std::optional<CpuQuota>& best) {
    for (;;) {
        if (v2) {
            const std::string file = dir + "/cpu.max";
            if (auto t = read_small_file(file)) take_tightest(best, parse_cpu_max(*t), file);
        } else {
            const std::string file = dir + "/cpu.cfs_quota_us";
            auto quota = read_small_file(file);
            auto period = read_small_file(dir + "/cpu.cfs_period_us");
            if (quota && period) take_tightest(best, parse_cfs_quota(*quota, *period), file);
        }
        if (dir.size() <= m.point.size()) return;
        const size_t slash = dir.rfind('/');
        if (slash == std::string::npos || slash < m.point.size()) return;
        dir.resize(slash);
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
    for (const bool v2 : {true, false}) {
        const auto mount = find_mount(mountinfo, v2);
        const auto path = find_cgroup_path(self_cgroup, v2);
        if (!mount || !path) continue;
        if (auto dir = cgroup_dir(*mount, *path)) scan_up(*mount, std::move(*dir), v2, best);
    }
    return best;
}

std::optional<CpuQuota> current_cpu_quota() {
    const auto self_cgroup = read_small_file("/proc/self/cgroup");
    const auto mountinfo = read_small_file("/proc/self/mountinfo");
    if (!self_cgroup || !mountinfo) return std::nullopt;
    return find_cpu_quota(*self_cgroup, *mountinfo);
}

}  // namespace minid
