// Master re-exec after a package upgrade, with the real binary copied to a temp dir: the reload
// that finds the binary replaced runs the new master in the same process (same PID, new
// /proc/PID/exe), its new workers run the new file, and a keep-alive load sees no failure;
// a replacement that cannot start fails the reload and the old master keeps serving.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "common/build_info.hpp"
#include "integration/harness.hpp"
#include "integration/load_client.hpp"
#include "integration/notify_socket.hpp"

namespace minid::test {
namespace {

// A site whose master runs a copy of minid from the temp dir, with its control socket on.
struct UpgradeSite {
    Site site{"", "", 2};
    std::string exe = site.dir.file("minid");
    std::string socket = site.dir.file("run/ctl.sock");

    UpgradeSite() {
        site.dir.write("minid.conf",
                       "[server]\nlisten = 127.0.0.1:" + std::to_string(site.port) +
                           "\nworkers = 2\naccess_log = " + site.dir.file("access.log") +
                           "\ncontrol_socket = " + socket + "\n[http]\nroot = " + site.root + "\n");
        EXPECT_EQ(run_command("cp " + std::string(MINID_BINARY) + " " + exe).exit_code, 0);
    }
    bool start(MinidProcess& m) const {
        return m.start({"-c", site.config_path}, site.log_path, {}, exe) &&
               m.wait_serving(site.port);
    }
    // Like dpkg: the new file is written next to the old one and renamed over it.
    void replace_binary_with(const std::string& source) const {
        ASSERT_EQ(run_command("cp " + source + " " + exe + ".new && chmod +x " + exe +
                              ".new && mv " + exe + ".new " + exe)
                      .exit_code,
                  0);
    }
    CommandResult ctl(const std::string& args) const {
        return run_command(std::string(MINIDCTL_BINARY) + " --control " + socket + " " + args);
    }
};

size_t count_of(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

size_t fd_count(pid_t pid) {
    std::error_code ec;
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {};
    struct stat sb {};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

void expect_clean_exit(MinidProcess& m) {
    int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "wait status " << st << "\n" << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

TEST(Reexec, ReplacedBinaryReExecutesTheMasterUnderLoadWithNoFailedRequest) {
    UpgradeSite u;
    MinidProcess m;
    ASSERT_TRUE(u.start(m)) << m.log();
    const pid_t master = m.pid();
    ASSERT_TRUE(eventually([&] { return children_of(master).size() == 2; }));
    const auto old_workers = children_of(master);
    const size_t fds_before = fd_count(master);

    LoadClient load(u.site.port, "/hello.txt", "Hello, world!", 12, 2);
    load.start();
    std::this_thread::sleep_for(300ms);

    // 1: SIGHUP (systemctl reload without minidctl).
    u.replace_binary_with(MINID_BINARY);
    EXPECT_NE(exe_of(master).find("(deleted)"), std::string::npos);
    m.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return count_of(m.log(), "reload complete") >= 1; }, 15s))
        << m.log();
    EXPECT_NE(m.log().find("re-executed: master pid " + std::to_string(master)), std::string::npos)
        << m.log();
    EXPECT_EQ(exe_of(master), u.exe) << "the master runs the new file, not a deleted one";
    EXPECT_TRUE(same_file("/proc/" + std::to_string(master) + "/exe", u.exe));
    ASSERT_TRUE(eventually([&] {
        auto now = children_of(master);
        return now.size() == 2 && std::none_of(now.begin(), now.end(), [&](pid_t p) {
                   return std::find(old_workers.begin(), old_workers.end(), p) != old_workers.end();
               });
    })) << "the adopted workers drain and exit\n"
        << m.log();
    for (pid_t w : children_of(master)) EXPECT_EQ(exe_of(w), u.exe) << "worker " << w;

    // 2: minidctl reload (ExecReload=): its connection is handed over to the new master image,
    // which answers it when the reload is complete.
    u.replace_binary_with(MINID_BINARY);
    CommandResult r = u.ctl("reload");
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << m.log();
    EXPECT_NE(r.output.find("generation 3"), std::string::npos) << r.output;
    EXPECT_EQ(count_of(m.log(), "re-executed: master pid"), 2u) << m.log();
    EXPECT_NE(m.log().find("1 waiting control client"), std::string::npos) << m.log();
    EXPECT_EQ(exe_of(master), u.exe);

    std::this_thread::sleep_for(500ms);
    LoadResult lr = load.stop();
    EXPECT_EQ(lr.failed, 0u) << (lr.first_errors.empty() ? "" : lr.first_errors[0]);
    EXPECT_EQ(lr.connect_errors, 0u);
    EXPECT_GT(lr.ok, 100u);
    EXPECT_TRUE(m.running());
    EXPECT_EQ(m.pid(), master);
    // The state came across: numbering goes on and the counters kept their history.
    ASSERT_TRUE(eventually([&] { return children_of(master).size() == 2; })) << m.log();
    CommandResult st = u.ctl("status --json");
    ASSERT_EQ(st.exit_code, 0) << st.output;
    const auto j = nlohmann::json::parse(st.output, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << st.output;
    EXPECT_EQ(j["master"]["reloads_ok"], 2) << st.output;
    EXPECT_EQ(j["master"]["generation"], 3) << st.output;
    EXPECT_EQ(fd_count(master), fds_before) << "the re-execs leak no descriptor";
    EXPECT_EQ(j["exited"]["workers"], 4) << "the exits before and after each re-exec\n"
                                         << st.output;
    std::cout << "[          ] " << lr.ok << " requests, " << lr.failed
              << " failed across 2 master re-execs\n";
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Reexec, ReplacementThatCannotStartFailsTheReloadAndTheOldMasterServes) {
    UpgradeSite u;
    MinidProcess m;
    ASSERT_TRUE(u.start(m)) << m.log();
    const pid_t master = m.pid();
    ASSERT_TRUE(eventually([&] { return children_of(master).size() == 2; }));
    const auto workers = children_of(master);
    const std::string running_exe = exe_of(master);

    // A script that exits 1, as a broken build would.
    u.site.dir.write("broken", "#!/bin/sh\necho 'broken build' >&2\nexit 1\n");
    u.replace_binary_with(u.site.dir.file("broken"));
    CommandResult r = u.ctl("reload");
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("cannot take over as master"), std::string::npos) << r.output;
    EXPECT_NE(m.log().find("reload failed, generation 1 keeps serving: the new binary"),
              std::string::npos)
        << m.log();
    EXPECT_EQ(count_of(m.log(), "re-executed"), 0u);
    EXPECT_EQ(exe_of(master), running_exe + " (deleted)") << "still the old image";
    EXPECT_EQ(children_of(master), workers);
    EXPECT_EQ(http_get(u.site.port, "/hello.txt")->status, 200);

    // A truncated binary cannot even be executed.
    ASSERT_EQ(run_command("head -c 4096 " + std::string(MINID_BINARY) + " > " +
                          u.site.dir.file("truncated"))
                  .exit_code,
              0);
    u.replace_binary_with(u.site.dir.file("truncated"));
    r = u.ctl("reload");
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("cannot take over as master"), std::string::npos) << r.output;
    EXPECT_EQ(children_of(master), workers);
    EXPECT_EQ(http_get(u.site.port, "/hello.txt")->status, 200);

    // Once a good binary is back, the next reload re-executes.
    u.replace_binary_with(MINID_BINARY);
    r = u.ctl("reload");
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << m.log();
    EXPECT_EQ(exe_of(master), u.exe);
    EXPECT_EQ(http_get(u.site.port, "/hello.txt")->status, 200);
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

// Under systemd: the sockets from socket activation and the notify sequence survive the re-exec,
// and every notification comes from the one main PID.
TEST(Reexec, SocketActivatedMasterKeepsItsSocketsAndNotifiesFromTheSamePid) {
    if (run_command("command -v systemd-socket-activate").exit_code != 0)
        GTEST_SKIP() << "systemd-socket-activate not installed";
    UpgradeSite u;
    NotifySocket notify(u.site.dir.file("notify.sock"));
    MinidProcess m;
    const uint16_t port = free_port();
    ASSERT_TRUE(m.start({"-l", "127.0.0.1:" + std::to_string(port), "--fdname=http", "-E",
                         "NOTIFY_SOCKET=" + notify.path(), u.exe, "-c", u.site.config_path},
                        u.site.log_path, {}, "/usr/bin/systemd-socket-activate"));
    ASSERT_TRUE(m.wait_serving(port)) << m.log();
    notify.collect(5s, "READY=1");
    u.replace_binary_with(MINID_BINARY);
    m.signal(SIGHUP);
    notify.collect(15s, "READY=1");
    ASSERT_TRUE(eventually([&] { return m.log().find("reload complete") != std::string::npos; }))
        << m.log();
    EXPECT_NE(m.log().find("re-executed"), std::string::npos) << m.log();
    EXPECT_EQ(exe_of(m.pid()), u.exe);
    const auto kinds = notify.kinds();
    ASSERT_GE(kinds.size(), 3u);
    EXPECT_EQ(kinds.back(), "READY=1");
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "READY=1"), 2) << "start, then the reload";
    EXPECT_GE(std::count(kinds.begin(), kinds.end(), "RELOADING=1"), 1);
    for (const auto& msg : notify.messages()) EXPECT_EQ(msg.pid, m.pid()) << msg.text;
    EXPECT_EQ(http_get(port, "/hello.txt")->body, "Hello, world!");
    EXPECT_EQ(count_of(m.log(), "(from systemd)"), 2u) << "both images use systemd's socket\n"
                                                       << m.log();
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

// The probe run of the real binary refuses what it cannot take over, and says why.
TEST(Reexec, ProbeOfTheRealBinaryChecksVersionsStateAndConfig) {
    Site site("", "", 1);
    const std::string bin = MINID_BINARY;
    CommandResult other = run_command(bin + " --reexec-probe=1,99 -c " + site.config_path);
    EXPECT_EQ(other.exit_code, 3) << other.output;
    EXPECT_NE(other.output.find("speaks worker protocol 99"), std::string::npos) << other.output;
    // State version 1, this build's worker protocol, but no state passed.
    CommandResult stateless =
        run_command(bin + " --reexec-probe=1," + std::to_string(build::worker_protocol) + " -c " +
                    site.config_path);
    EXPECT_EQ(stateless.exit_code, 1) << stateless.output;
    EXPECT_NE(stateless.output.find("cannot read the master's state"), std::string::npos)
        << stateless.output;
}

}  // namespace
}  // namespace minid::test
