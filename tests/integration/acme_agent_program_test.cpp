// The ACME agent is the program minid-acme-agent, found next to minid or at its install path:
// with tls = auto and no such program, `minid -t`, the start and a reload fail, naming each
// path tried and why; with the program next to minid, the same config checks out and the
// running agent is that program (so minid itself maps no libcurl).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

// A tls = auto site (its CA is never reached: the tests end before the agent's first order).
std::string auto_config(const TempDir& dir, uint16_t port) {
    return "[server]\nlisten = 127.0.0.1:" + std::to_string(port) +
           "\nworkers = 1\naccess_log = off\ncontrol_socket = off\n\n[http]\nroot = " + dir.path() +
           "\n\n[site shop]\nhosts = a.test\nroot = " + dir.path() +
           "\ntls = auto\n\n[acme]\nca = https://127.0.0.1:9/dir\nstate_dir = " + dir.file("acme") +
           "\n";
}

std::string plain_config(const TempDir& dir, uint16_t port) {
    return "[server]\nlisten = 127.0.0.1:" + std::to_string(port) +
           "\nworkers = 1\naccess_log = off\ncontrol_socket = off\n\n[http]\nroot = " + dir.path() +
           "\n";
}

// build/minid copied alone into dir/bin/, so the only other candidate is the install path.
std::string lone_minid(const TempDir& dir) {
    const std::string bin = dir.file("bin/minid");
    const auto r =
        run_command("mkdir -p " + dir.file("bin") + " && cp " + MINID_BINARY + " " + bin);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return bin;
}

#define SKIP_IF_INSTALLED()                                                                     \
    if (::access(MINID_ACME_AGENT_INSTALLED, F_OK) == 0)                                        \
    GTEST_SKIP() << MINID_ACME_AGENT_INSTALLED                                                  \
                 << " exists (an installed minid), so a lone minid would find it: these tests " \
                    "need a machine without it"

TEST(AcmeAgentProgram, CheckFailsWithoutTheProgramAndNamesEachPath) {
    SKIP_IF_INSTALLED();
    TempDir dir;
    dir.write("minid.conf", auto_config(dir, free_port()));
    const std::string bin = lone_minid(dir);
    const auto r = run_command(bin + " -t -c " + dir.file("minid.conf") + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(dir.file("bin/minid-acme-agent") + ": No such file or directory"),
              std::string::npos)
        << r.output;
    EXPECT_NE(
        r.output.find(std::string(MINID_ACME_AGENT_INSTALLED) + ": No such file or directory"),
        std::string::npos)
        << r.output;

    // The same config checks out with the program next to minid (the build dir).
    const auto ok = run_command(std::string(MINID_BINARY) + " -t -c " + dir.file("minid.conf"));
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

TEST(AcmeAgentProgram, StartAndReloadFailWithoutTheProgram) {
    SKIP_IF_INSTALLED();
    TempDir dir;
    const uint16_t port = free_port();
    dir.write("index.html", "hello\n");
    dir.write("minid.conf", auto_config(dir, port));
    const std::string bin = lone_minid(dir);

    MinidProcess start;
    ASSERT_TRUE(start.start({"-c", dir.file("minid.conf")}, dir.file("start.log"), {}, bin));
    const int status = start.wait_exit(10s);
    ASSERT_NE(status, -1) << "a master without its ACME agent program kept running";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << start.log();
    EXPECT_NE(start.log().find(dir.file("bin/minid-acme-agent") + ": No such file or directory"),
              std::string::npos)
        << start.log();

    // Serving without tls = auto, then a reload to it: refused, the old config keeps serving.
    dir.write("minid.conf", plain_config(dir, port));
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", dir.file("minid.conf")}, dir.file("run.log"), {}, bin));
    ASSERT_TRUE(m.wait_serving(port)) << m.log();
    dir.write("minid.conf", auto_config(dir, port));
    m.signal(SIGHUP);
    EXPECT_TRUE(eventually([&] { return m.log().find("reload failed") != std::string::npos; }))
        << m.log();
    EXPECT_NE(m.log().find(dir.file("bin/minid-acme-agent") + ": No such file or directory"),
              std::string::npos)
        << m.log();
    auto r = http_get(port, "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
}

TEST(AcmeAgentProgram, TheMasterRunsTheAgentProgram) {
    TempDir dir;
    const uint16_t port = free_port();
    dir.write("index.html", "hello\n");
    dir.write("minid.conf", auto_config(dir, port));
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", dir.file("minid.conf")}, dir.file("run.log")));
    ASSERT_TRUE(m.wait_serving(port)) << m.log();
    std::string agent_exe;
    EXPECT_TRUE(eventually([&] {
        for (pid_t kid : children_of(m.pid()))
            if (exe_of(kid) == MINID_ACME_AGENT_BINARY) agent_exe = exe_of(kid);
        return !agent_exe.empty();
    })) << m.log();
    // minid itself (master and workers) maps no libcurl: only the agent does.
    const auto maps = run_command("grep -c libcurl /proc/" + std::to_string(m.pid()) + "/maps");
    EXPECT_EQ(maps.output, "0\n") << maps.output;
    for (pid_t kid : children_of(m.pid())) {
        if (exe_of(kid) == MINID_ACME_AGENT_BINARY) continue;
        const auto w = run_command("grep -c libcurl /proc/" + std::to_string(kid) + "/maps");
        EXPECT_EQ(w.output, "0\n") << "worker " << kid << ": " << w.output;
    }
}

}  // namespace
}  // namespace minid::test
