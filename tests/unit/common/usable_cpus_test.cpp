// Tests for the usable-CPU count: the cpuset list format, the cgroup cpuset of a fake tree (v2
// and v1, ancestors, a container's subtree), how affinity, cpuset and the online count combine,
// and the real count in a child restricted to one CPU.
#include "common/usable_cpus.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/common/fake_cgroup_mounts.hpp"
#include "tests/unit/common/one_cpu_child.hpp"
#include "tests/unit/worker/http/temp_tree.hpp"

namespace minid {
namespace {

using http::testing::TempTree;

CpuSet cpus(std::initializer_list<unsigned> list) {
    CpuSet set;
    for (unsigned cpu : list) {
        if (set.size() <= cpu) set.resize(cpu + 1);
        set[cpu] = true;
    }
    return set;
}

TEST(CpuList, ParsesRangesAndSingleCpus) {
    EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), cpus({0, 1, 2, 3, 8, 10, 11}));
    EXPECT_EQ(parse_cpu_list("5"), cpus({5}));
    EXPECT_EQ(parse_cpu_list("2-2"), cpus({2}));
    EXPECT_EQ(count_cpus(parse_cpu_list("0-63\n").value()), 64u);
    EXPECT_EQ(parse_cpu_list("\n"), CpuSet{}) << "an unset cpuset is empty";
    EXPECT_EQ(parse_cpu_list(""), CpuSet{});
}

TEST(CpuList, RejectsWhatTheKernelNeverWrites) {
    for (const char* bad :
         {"3-1", "1,,2", "a", "1-", "-1", "0-3 8", "1.5", "0-65536", "99999999999"})
        EXPECT_FALSE(parse_cpu_list(bad)) << bad;
    EXPECT_TRUE(parse_cpu_list("65535"));
}

TEST(FindCgroupCpuset, V2IntersectsTheCgroupAndItsAncestors) {
    TempTree t;
    t.write("cg/cpuset.cpus.effective", "0-63\n");
    t.write("cg/machine.slice/cpuset.cpus.effective", "0-7\n");
    t.write("cg/machine.slice/box/cpuset.cpus.effective", "2-3\n");
    auto set = find_cgroup_cpuset("0::/machine.slice/box\n", v2_mountinfo(t));
    ASSERT_TRUE(set);
    EXPECT_EQ(*set, cpus({2, 3}));

    // Without the controller in the leaf (no file there), the nearest ancestor's list applies.
    t.mkdir("cg/machine.slice/other");
    set = find_cgroup_cpuset("0::/machine.slice/other\n", v2_mountinfo(t));
    ASSERT_TRUE(set);
    EXPECT_EQ(count_cpus(*set), 8u);
}

TEST(FindCgroupCpuset, V2ContainerMountShowsItsOwnSubtree) {
    TempTree t;
    t.write("cg/cpuset.cpus.effective", "4-5\n");  // the container's own cgroup
    t.mkdir("cg/inner");
    auto set = find_cgroup_cpuset("0::/machine/box/inner\n", v2_mountinfo(t, "/machine/box"));
    ASSERT_TRUE(set);
    EXPECT_EQ(*set, cpus({4, 5}));
}

TEST(FindCgroupCpuset, NoneWithoutTheController) {
    TempTree t;
    t.mkdir("cg/system.slice/minid.service");
    EXPECT_FALSE(find_cgroup_cpuset("0::/system.slice/minid.service\n", v2_mountinfo(t)));
    t.write("cg/system.slice/minid.service/cpuset.cpus.effective", "garbage\n");
    EXPECT_FALSE(find_cgroup_cpuset("0::/system.slice/minid.service\n", v2_mountinfo(t)));
    EXPECT_FALSE(find_cgroup_cpuset("", v2_mountinfo(t)));
    EXPECT_FALSE(find_cgroup_cpuset("0::/system.slice/minid.service\n", ""));
}

TEST(FindCgroupCpuset, V1UsesTheCpusetHierarchy) {
    TempTree t;
    const std::string mountinfo = v1_mountinfo(t, {"cpu,cpuacct", "cpuset"});
    // The cpu hierarchy carries a look-alike file: only the cpuset hierarchy counts.
    t.write("cpu,cpuacct/docker/abc/cpuset.cpus", "0\n");
    t.write("cpuset/cpuset.cpus", "0-15\n");
    t.write("cpuset/docker/cpuset.cpus", "0-15\n");
    t.write("cpuset/docker/abc/cpuset.cpus", "1,3\n");
    const std::string self = "5:cpuset:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n";
    auto set = find_cgroup_cpuset(self, mountinfo);
    ASSERT_TRUE(set);
    EXPECT_EQ(*set, cpus({1, 3}));

    // A v1 cgroup whose list was never set (empty) inherits nothing from it: the parent's holds.
    t.write("cpuset/docker/abc/cpuset.cpus", "\n");
    set = find_cgroup_cpuset(self, mountinfo);
    ASSERT_TRUE(set);
    EXPECT_EQ(count_cpus(*set), 16u);
}

TEST(UsableCpuCount, IsAffinityAndCpusetOrWhicheverIsKnown) {
    const auto all64 = parse_cpu_list("0-63");
    // A container given 2 of 64 CPUs by its cpuset: 2, not 64.
    EXPECT_EQ(usable_cpu_count(all64, cpus({8, 9}), 64), 2u);
    // taskset -c 0-3 inside a cpuset of 2-9: CPUs 2 and 3.
    EXPECT_EQ(usable_cpu_count(parse_cpu_list("0-3"), parse_cpu_list("2-9"), 64), 2u);
    EXPECT_EQ(usable_cpu_count(cpus({0, 1, 2}), std::nullopt, 64), 3u);
    EXPECT_EQ(usable_cpu_count(std::nullopt, cpus({5}), 64), 1u);
    EXPECT_EQ(usable_cpu_count(std::nullopt, std::nullopt, 64), 64u);
    EXPECT_EQ(usable_cpu_count(std::nullopt, std::nullopt, -1), 1u) << "at least one";
    // The cpuset moved between the two reads: the affinity, which the kernel enforces, counts.
    EXPECT_EQ(usable_cpu_count(cpus({0, 1}), cpus({4}), 8), 2u);
}

TEST(UsableCpuCount, FollowsTheRealAffinity) {
    const auto affinity = current_affinity();
    ASSERT_TRUE(affinity);
    EXPECT_GE(count_cpus(*affinity), 1u);
    EXPECT_LE(usable_cpu_count(), count_cpus(*affinity));
    EXPECT_LE(usable_cpu_count(), static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN)));
    // As under `taskset -c N`: one CPU, whatever the host has.
    EXPECT_EQ(in_one_cpu_child([] { return static_cast<int>(usable_cpu_count()); }), 1);
    EXPECT_EQ(in_one_cpu_child([] { return static_cast<int>(count_cpus(*current_affinity())); }),
              1);
}

}  // namespace
}  // namespace minid
