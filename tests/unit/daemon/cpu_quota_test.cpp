// Tests for the cgroup CPU quota reader: the file formats of v2 and v1, and finding the process's
// cgroup and its ancestors from /proc/self/cgroup and /proc/self/mountinfo (on a fake tree).
#include "daemon/cpu_quota.hpp"

#include <gtest/gtest.h>

#include "tests/unit/common/fake_cgroup_mounts.hpp"
#include "tests/unit/worker/http/temp_tree.hpp"

namespace minid {
namespace {

using http::testing::TempTree;

TEST(CpuMax, IsQuotaOverPeriodOrNoLimit) {
    EXPECT_DOUBLE_EQ(parse_cpu_max("50000 100000\n").value(), 0.5);
    EXPECT_DOUBLE_EQ(parse_cpu_max("150000 100000").value(), 1.5);
    EXPECT_FALSE(parse_cpu_max("max 100000\n")) << "no limit";
    EXPECT_FALSE(parse_cpu_max(""));
    EXPECT_FALSE(parse_cpu_max("50000"));
    EXPECT_FALSE(parse_cpu_max("50000 0"));
    EXPECT_FALSE(parse_cpu_max("50000 100000 7"));
    EXPECT_FALSE(parse_cpu_max("5e4 100000"));
}

TEST(CfsQuota, IsQuotaOverPeriodOrNoLimit) {
    EXPECT_DOUBLE_EQ(parse_cfs_quota("25000\n", "100000\n").value(), 0.25);
    EXPECT_FALSE(parse_cfs_quota("-1\n", "100000\n")) << "no limit";
    EXPECT_FALSE(parse_cfs_quota("25000", ""));
    EXPECT_FALSE(parse_cfs_quota("x", "100000"));
}

TEST(FindCpuQuota, V2TakesTheTightestOfTheCgroupAndItsAncestors) {
    TempTree t;
    // The mount point counts too: in a container it is the container's own cgroup.
    t.write("cg/cpu.max", "10000 100000\n");
    t.write("cg/system.slice/cpu.max", "150000 100000\n");
    t.write("cg/system.slice/minid.service/cpu.max", "max 100000\n");
    auto q = find_cpu_quota("0::/system.slice/minid.service\n", v2_mountinfo(t));
    ASSERT_TRUE(q);
    EXPECT_DOUBLE_EQ(q->cpus, 0.1);
    EXPECT_EQ(q->source, t.path("cg/cpu.max"));

    t.write("cg/cpu.max", "max 100000\n");
    q = find_cpu_quota("0::/system.slice/minid.service\n", v2_mountinfo(t));
    ASSERT_TRUE(q) << "the slice's limit applies to the service in it";
    EXPECT_DOUBLE_EQ(q->cpus, 1.5);
    EXPECT_EQ(q->source, t.path("cg/system.slice/cpu.max"));

    t.write("cg/system.slice/minid.service/cpu.max", "50000 100000\n");
    q = find_cpu_quota("0::/system.slice/minid.service\n", v2_mountinfo(t));
    ASSERT_TRUE(q);
    EXPECT_DOUBLE_EQ(q->cpus, 0.5);
    EXPECT_EQ(q->source, t.path("cg/system.slice/minid.service/cpu.max"));
}

TEST(FindCpuQuota, V2WithoutALimitOrWithoutTheCpuControllerIsNone) {
    TempTree t;
    t.mkdir("cg/system.slice/minid.service");  // no cpu.max: the controller is not enabled
    EXPECT_FALSE(find_cpu_quota("0::/system.slice/minid.service\n", v2_mountinfo(t)));
    t.write("cg/system.slice/cpu.max", "max 100000\n");
    EXPECT_FALSE(find_cpu_quota("0::/system.slice/minid.service\n", v2_mountinfo(t)));
}

TEST(FindCpuQuota, V2MountOfASubtreeMapsThePath) {
    // A container's cgroup mount shows only its own part of the host's tree.
    TempTree t;
    t.write("cg/inner/cpu.max", "20000 100000\n");
    auto q = find_cpu_quota("0::/machine/box/inner\n", v2_mountinfo(t, "/machine/box"));
    ASSERT_TRUE(q);
    EXPECT_DOUBLE_EQ(q->cpus, 0.2);
    EXPECT_EQ(q->source, t.path("cg/inner/cpu.max"));
    EXPECT_FALSE(find_cpu_quota("0::/elsewhere/inner\n", v2_mountinfo(t, "/machine/box")))
        << "a cgroup the mount does not show";
    EXPECT_FALSE(find_cpu_quota("0::/../../host\n", v2_mountinfo(t)))
        << "a cgroup outside the namespace";
}

TEST(FindCpuQuota, V1UsesTheHierarchyWithTheCpuController) {
    TempTree t;
    const std::string mountinfo = v1_mountinfo(t, {"cpuset", "cpu,cpuacct"});
    // cpuset is listed first and carries a look-alike file: only the cpu hierarchy counts.
    t.write("cpuset/x/cpu.cfs_quota_us", "1000\n");
    t.write("cpuset/x/cpu.cfs_period_us", "100000\n");
    t.write("cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    t.write("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    t.write("cpu,cpuacct/system.slice/minid.service/cpu.cfs_quota_us", "75000\n");
    t.write("cpu,cpuacct/system.slice/minid.service/cpu.cfs_period_us", "100000\n");
    const std::string self =
        "5:cpuset:/x\n4:cpu,cpuacct:/system.slice/minid.service\n1:name=systemd:/\n";
    auto q = find_cpu_quota(self, mountinfo);
    ASSERT_TRUE(q);
    EXPECT_DOUBLE_EQ(q->cpus, 0.75);
    EXPECT_EQ(q->source, t.path("cpu,cpuacct/system.slice/minid.service/cpu.cfs_quota_us"));

    t.write("cpu,cpuacct/system.slice/minid.service/cpu.cfs_quota_us", "-1\n");
    EXPECT_FALSE(find_cpu_quota(self, mountinfo));
}

TEST(FindCpuQuota, EscapedMountPointsAndMissingInputs) {
    TempTree t;
    t.write("a dir/svc/cpu.max", "30000 100000\n");
    const std::string mountinfo =
        "30 23 0:26 / " + t.path("a\\040dir") + " rw shared:4 - cgroup2 cgroup2 rw\n";
    auto q = find_cpu_quota("0::/svc\n", mountinfo);
    ASSERT_TRUE(q);
    EXPECT_DOUBLE_EQ(q->cpus, 0.3);
    EXPECT_FALSE(find_cpu_quota("", mountinfo));
    EXPECT_FALSE(find_cpu_quota("0::/svc\n", ""));
    EXPECT_FALSE(find_cpu_quota("garbage\n", "garbage\n"));
}

}  // namespace
}  // namespace minid
