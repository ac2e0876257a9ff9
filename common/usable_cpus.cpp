// Counts the CPUs this process may run on from sched_getaffinity and the cgroup cpuset files, so
// that a container given 2 of 64 CPUs starts 2 workers, not 64.
#include "common/usable_cpus.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>

#include "common/cgroup_tree.hpp"
#include "common/split.hpp"
#include "common/trim.hpp"

namespace minid {
namespace {

std::optional<unsigned> to_cpu_number(std::string_view s) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > kMaxCpuNumber)
        return std::nullopt;
    return v;
}

// Narrows `acc` to `set` (or starts it with `set`).
void intersect_into(std::optional<CpuSet>& acc, const CpuSet& set) {
    if (!acc) {
        acc = set;
        return;
    }
    acc->resize(std::min(acc->size(), set.size()));
    for (size_t i = 0; i < acc->size(); ++i) (*acc)[i] = (*acc)[i] && set[i];
}

}  // namespace

std::optional<CpuSet> parse_cpu_list(std::string_view text) {
    CpuSet set;
    text = trim(text);
    if (text.empty()) return set;
    for (std::string_view item : split(text, ',')) {
        const size_t dash = item.find('-');
        const auto first = to_cpu_number(item.substr(0, dash));
        const auto last =
            dash == std::string_view::npos ? first : to_cpu_number(item.substr(dash + 1));
        if (!first || !last || *last < *first) return std::nullopt;
        if (set.size() <= *last) set.resize(*last + 1);
        for (unsigned cpu = *first; cpu <= *last; ++cpu) set[cpu] = true;
    }
    return set;
}

unsigned count_cpus(const CpuSet& set) {
    return static_cast<unsigned>(std::count(set.begin(), set.end(), true));
}

std::optional<CpuSet> find_cgroup_cpuset(std::string_view self_cgroup, std::string_view mountinfo) {
    std::optional<CpuSet> acc;
    for (const CgroupVersion v : {CgroupVersion::v2, CgroupVersion::v1}) {
        const char* file = v == CgroupVersion::v2 ? "/cpuset.cpus.effective" : "/cpuset.cpus";
        for (const std::string& dir : cgroup_dirs_upward(self_cgroup, mountinfo, v, "cpuset")) {
            const auto text = read_small_file(dir + file);
            const auto set = text ? parse_cpu_list(*text) : std::nullopt;
            // An empty list is an unset one (v1 before it is configured), not "no CPU at all".
            if (set && count_cpus(*set) > 0) intersect_into(acc, *set);
        }
    }
    return acc;
}

std::optional<CpuSet> current_affinity() {
    // The mask must be at least as large as the kernel's; grow it until the call accepts it.
    for (size_t cpus = 1024; cpus <= kMaxCpuNumber + 1; cpus *= 2) {
        cpu_set_t* mask = CPU_ALLOC(cpus);
        if (mask == nullptr) return std::nullopt;
        const size_t bytes = CPU_ALLOC_SIZE(cpus);
        CPU_ZERO_S(bytes, mask);
        if (::sched_getaffinity(0, bytes, mask) == 0) {
            CpuSet set(cpus);
            for (size_t i = 0; i < cpus; ++i) set[i] = CPU_ISSET_S(i, bytes, mask);
            CPU_FREE(mask);
            return set;
        }
        const int err = errno;
        CPU_FREE(mask);
        if (err != EINVAL) return std::nullopt;
    }
    return std::nullopt;
}

unsigned usable_cpu_count(const std::optional<CpuSet>& affinity,
                          const std::optional<CpuSet>& cpuset, long online) {
    std::optional<CpuSet> both;
    if (affinity) intersect_into(both, *affinity);
    if (cpuset) intersect_into(both, *cpuset);
    unsigned n = both ? count_cpus(*both) : 0;
    if (n == 0 && affinity) n = count_cpus(*affinity);
    if (n == 0 && !affinity && !cpuset && online > 0) n = static_cast<unsigned>(online);
    return std::max(n, 1u);
}

unsigned usable_cpu_count() {
    const auto self = read_self_cgroup_files();
    const auto cpuset =
        self ? find_cgroup_cpuset(self->self_cgroup, self->mountinfo) : std::nullopt;
    return usable_cpu_count(current_affinity(), cpuset, ::sysconf(_SC_NPROCESSORS_ONLN));
}

}  // namespace minid
