// The CPUs this process may run on, not the host's count: its affinity (sched_getaffinity, what
// taskset and systemd's CPUAffinity= set) intersected with its cgroup's cpuset (v2
// cpuset.cpus.effective, v1 cpuset.cpus; systemd's AllowedCPUs=, a container's --cpuset-cpus).
// Sizes `workers = auto` and the busy-polling crowd check.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace minid {

// A set of CPU numbers: set[n] is true when CPU n is in it.
using CpuSet = std::vector<bool>;

// Larger CPU numbers are taken for a malformed list (the kernel's own limit is 8192).
inline constexpr unsigned kMaxCpuNumber = 65535;

// The kernel's CPU list format ("0-3,8,10-11\n"); "" or "\n" is the empty set. nullopt when
// malformed (a reversed range, a stray character) or naming a CPU above kMaxCpuNumber.
std::optional<CpuSet> parse_cpu_list(std::string_view text);

unsigned count_cpus(const CpuSet& set);

// From the texts of /proc/self/cgroup and /proc/self/mountinfo: the intersection of the cpusets
// of the process's cgroup and its ancestors (v2 cpuset.cpus.effective, v1 cpuset.cpus, both
// hierarchies when both are there). nullopt when no cgroup has a readable, non-empty list (no
// cpuset controller there).
std::optional<CpuSet> find_cgroup_cpuset(std::string_view self_cgroup, std::string_view mountinfo);

// This thread's affinity (the process's, as minid never sets it per thread); nullopt when
// sched_getaffinity fails.
std::optional<CpuSet> current_affinity();

// How many CPUs are usable: affinity ∩ cpuset, or whichever of the two is known, or `online`
// when neither is; at least 1. An empty intersection (a cpuset changed between the two reads)
// counts the affinity alone, which the kernel enforces.
unsigned usable_cpu_count(const std::optional<CpuSet>& affinity,
                          const std::optional<CpuSet>& cpuset, long online);

// usable_cpu_count() for this process, with sysconf(_SC_NPROCESSORS_ONLN) as `online`.
unsigned usable_cpu_count();

}  // namespace minid
