// Finds this process's cgroup directories from /proc/self/cgroup and /proc/self/mountinfo, for
// the readers of cgroup limits (daemon/cpu_quota, common/usable_cpus).
#include "common/cgroup_tree.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/split.hpp"
#include "common/trim.hpp"
#include "common/unique_fd.hpp"

namespace minid {
namespace {

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

struct Mount {
    std::string root;   // the part of the hierarchy shown at the mount point ("/" usually)
    std::string point;  // where it is mounted
};

// The mount of the cgroup2 hierarchy (v2) or of the v1 hierarchy carrying the controller.
std::optional<Mount> find_mount(std::string_view mountinfo, CgroupVersion version,
                                std::string_view controller) {
    for (std::string_view line : split(mountinfo, '\n')) {
        const std::vector<std::string_view> f = split(trim(line), ' ');
        size_t dash = 6;  // optional fields come between the 6th field and "-"
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (f.size() < 5 || dash + 3 >= f.size()) continue;
        const std::string_view fstype = f[dash + 1];
        const bool match = version == CgroupVersion::v2
                               ? fstype == "cgroup2"
                               : fstype == "cgroup" && has_item(f[dash + 3], controller);
        if (match) return Mount{unescape_mount_path(f[3]), unescape_mount_path(f[4])};
    }
    return std::nullopt;
}

// The process's cgroup path in that hierarchy, from /proc/self/cgroup ("ID:controllers:path").
std::optional<std::string> find_cgroup_path(std::string_view self_cgroup, CgroupVersion version,
                                            std::string_view controller) {
    for (std::string_view line : split(self_cgroup, '\n')) {
        line = trim(line);
        const size_t c1 = line.find(':');
        const size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
        if (c2 == std::string_view::npos) continue;
        const std::string_view id = line.substr(0, c1);
        const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
        const bool match = version == CgroupVersion::v2 ? id == "0" && controllers.empty()
                                                        : has_item(controllers, controller);
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

}  // namespace

std::optional<SelfCgroupFiles> read_self_cgroup_files() {
    auto self_cgroup = read_small_file("/proc/self/cgroup");
    auto mountinfo = read_small_file("/proc/self/mountinfo");
    if (!self_cgroup || !mountinfo) return std::nullopt;
    return SelfCgroupFiles{std::move(*self_cgroup), std::move(*mountinfo)};
}

std::vector<std::string> cgroup_dirs_upward(std::string_view self_cgroup,
                                            std::string_view mountinfo, CgroupVersion version,
                                            std::string_view v1_controller) {
    std::vector<std::string> dirs;
    const auto mount = find_mount(mountinfo, version, v1_controller);
    const auto path = find_cgroup_path(self_cgroup, version, v1_controller);
    if (!mount || !path) return dirs;
    auto dir = cgroup_dir(*mount, *path);
    if (!dir) return dirs;
    for (;;) {
        dirs.push_back(*dir);
        if (dir->size() <= mount->point.size()) return dirs;
        const size_t slash = dir->rfind('/');
        if (slash == std::string::npos || slash < mount->point.size()) return dirs;
        dir->resize(slash);
    }
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

}  // namespace minid
