// Busy polling under a CPU quota, in a real cgroup (v1 cpu hierarchy, or v2 where the root lets
// its children use the cpu controller): a generation whose cgroup grants less than one CPU per
// worker gets workers that sleep when idle, and the master says so. Skipped where no cgroup with
// a CPU quota can be made (not root, read-only cgroupfs).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
    f.flush();
    return static_cast<bool>(f);
}

// A cgroup of the test's own with a settable CPU quota; removed (once empty) on destruction.
class QuotaCgroup {
  public:
    // nullptr, with the reason in `why_not`, where none can be made here.
    static std::unique_ptr<QuotaCgroup> create(std::string& why_not) {
        const std::string name = "minid-test-" + std::to_string(::getpid());
        if (::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
            if (read_file("/sys/fs/cgroup/cgroup.subtree_control").find("cpu") ==
                std::string::npos) {
                why_not = "cgroup v2 without the cpu controller enabled for the root's children";
                return nullptr;
            }
            return make("/sys/fs/cgroup/" + name, true, why_not);
        }
        for (const char* base : {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"})
            if (::access((std::string(base) + "/cpu.cfs_quota_us").c_str(), F_OK) == 0)
                return make(std::string(base) + "/" + name, false, why_not);
        why_not = "no cgroup v1 cpu hierarchy and no cgroup v2";
        return nullptr;
    }

    ~QuotaCgroup() {
        // The processes moved in have exited by now; rmdir fails only while one lingers.
        for (int i = 0; i < 100 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i)
            std::this_thread::sleep_for(20ms);
    }

    // quota_us < 0: no limit.
    bool set_quota(long quota_us, long period_us = 100'000) const {
        if (v2_)
            return write_file(dir_ + "/cpu.max",
                              (quota_us < 0 ? std::string("max") : std::to_string(quota_us)) + " " +
                                  std::to_string(period_us));
        return write_file(dir_ + "/cpu.cfs_period_us", std::to_string(period_us)) &&
               write_file(dir_ + "/cpu.cfs_quota_us", std::to_string(quota_us < 0 ? -1 : quota_us));
    }

    // Moves the whole process (all its threads) in; its children from then on start there.
    bool add(pid_t pid) const { return write_file(dir_ + "/cgroup.procs", std::to_string(pid)); }

  private:
    static std::unique_ptr<QuotaCgroup> make(const std::string& dir, bool v2,
                                             std::string& why_not) {
        if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
            why_not = "cannot create " + dir + ": " + std::strerror(errno);
            return nullptr;
        }
        return std::unique_ptr<QuotaCgroup>(new QuotaCgroup(dir, v2));
    }
    QuotaCgroup(std::string dir, bool v2) : dir_(std::move(dir)), v2_(v2) {}

    std::string dir_;
    bool v2_;
};

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST(CpuQuota, BusyPollingIsOffForAGenerationWithLessThanOneCpuPerWorker) {
    std::string why_not;
    auto cg = QuotaCgroup::create(why_not);
    if (!cg) GTEST_SKIP() << why_not;

    Site site("busy_poll = 50us\n", "", 2);  // polling is opt-in
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    auto serving = [&](int gen) {
        return eventually([&] {
            return m.log().find("generation " + std::to_string(gen) + " is serving") !=
                   std::string::npos;
        });
    };
    ASSERT_TRUE(serving(1)) << m.log();

    // Half a CPU for two workers: generation 2 must not poll.
    ASSERT_TRUE(cg->set_quota(50'000));
    ASSERT_TRUE(cg->add(m.pid()));
    m.signal(SIGHUP);
    ASSERT_TRUE(serving(2)) << m.log();
    EXPECT_NE(m.log().find("generation 2: busy polling is off: the CPU quota of this cgroup is "
                           "0.50 CPU ("),
              std::string::npos)
        << m.log();

    // Two CPUs for two workers: polling is back in generation 3.
    ASSERT_TRUE(cg->set_quota(200'000));
    m.signal(SIGHUP);
    ASSERT_TRUE(serving(3)) << m.log();
    EXPECT_EQ(m.log().find("generation 3: busy polling"), std::string::npos) << m.log();
    EXPECT_EQ(count(m.log(), "busy polling is off"), 1u) << m.log();
    EXPECT_EQ(http_get(site.port, "/hello.txt")->status, 200);

    m.signal(SIGTERM);
    const int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

TEST(CpuQuota, BusyPollingSetToZeroIsNotReported) {
    std::string why_not;
    auto cg = QuotaCgroup::create(why_not);
    if (!cg) GTEST_SKIP() << why_not;

    Site site("busy_poll = 0\n", "", 2);
    ASSERT_TRUE(cg->set_quota(50'000));
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    ASSERT_TRUE(cg->add(m.pid()));
    m.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] {
        return m.log().find("generation 2 is serving") != std::string::npos;
    })) << m.log();
    EXPECT_EQ(m.log().find("busy polling"), std::string::npos) << m.log();
    m.signal(SIGTERM);
    EXPECT_GE(m.wait_exit(), 0);
}

}  // namespace
}  // namespace minid::test
