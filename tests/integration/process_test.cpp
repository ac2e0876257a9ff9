// The master/worker process model: worker count (`workers = auto` under a CPU affinity),
// replacement of a killed worker, start-up from the command line alone, config checking, and
// socket activation via systemd-socket-activate.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "integration/harness.hpp"
#include "integration/notify_socket.hpp"

namespace minid::test {
namespace {

TEST(Process, StartsWorkersAndReplacesAKilledOne) {
    Site site("", "", 2);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    ASSERT_TRUE(eventually([&] { return children_of(m.pid()).size() == 2; })) << m.log();
    // A worker killed before its generation is up fails the start instead (the first one may
    // serve while the second, under a sanitizer, is still starting).
    ASSERT_TRUE(eventually([&] {
        return m.log().find("generation 1 is serving") != std::string::npos;
    })) << m.log();
    auto before = children_of(m.pid());
    ::kill(before[0], SIGKILL);
    ASSERT_TRUE(eventually([&] {
        auto now = children_of(m.pid());
        return now.size() == 2 && now != before;
    })) << m.log();
    EXPECT_FALSE(process_alive(before[0]));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(http_get(site.port, "/hello.txt")->status, 200);
    m.signal(SIGTERM);
    int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << m.log();
    EXPECT_NE(m.log().find("killed by signal"), std::string::npos);
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

// The CPUs this thread may run on (the test binary's main thread; children inherit it).
int allowed_cpus(cpu_set_t* set) {
    CPU_ZERO(set);
    return ::sched_getaffinity(0, sizeof *set, set) == 0 ? CPU_COUNT(set) : -1;
}

TEST(Process, WorkersAutoCountsOnlyTheCpusMinidMayRunOn) {
    cpu_set_t saved;
    const int cpus = allowed_cpus(&saved);
    ASSERT_GE(cpus, 1);
    if (cpus < 2) GTEST_SKIP() << "one CPU here: a restriction to one would change nothing";
    int first = 0;
    while (!CPU_ISSET(first, &saved)) ++first;

    // As `taskset -c N minid --workers auto`: the master and its workers inherit the affinity.
    Site site("", "", 1);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
    MinidProcess m;
    const bool started = m.start({"-c", site.config_path, "--workers", "auto"}, site.log_path);
    ASSERT_EQ(::sched_setaffinity(0, sizeof saved, &saved), 0);
    ASSERT_TRUE(started);
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    EXPECT_TRUE(eventually([&] {
        return m.log().find("generation 1 is serving") != std::string::npos;
    })) << m.log();
    EXPECT_NE(m.log().find("starting generation 1 with 1 worker(s)"), std::string::npos)
        << cpus << " CPUs allowed to the test, 1 to minid:\n"
        << m.log();
    EXPECT_EQ(children_of(m.pid()).size(), 1u) << m.log();
    m.signal(SIGTERM);
    EXPECT_EQ(m.wait_exit(), 0);
}

TEST(Process, CommandLineAloneServesTheSampleSite) {
    TempDir dir;
    const uint16_t port = free_port();
    MinidProcess m;
    ASSERT_TRUE(m.start({"--listen", "127.0.0.1:" + std::to_string(port), "--workers", "1"},
                        dir.file("log")));
    ASSERT_TRUE(m.wait_serving(port)) << m.log();
    auto r = http_get(port, "/");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find("Welcome to minid"), std::string::npos);
    EXPECT_EQ(children_of(m.pid()).size(), 1u);
    m.signal(SIGTERM);
    EXPECT_EQ(m.wait_exit(), 0);
}

TEST(Process, RootOnTheCommandLineOverridesTheFile) {
    Site site("", "", 1);
    site.dir.write("other/hello.txt", "other root");
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path, "--root", site.dir.file("other")}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    EXPECT_EQ(http_get(site.port, "/hello.txt")->body, "other root");
    m.signal(SIGTERM);
    EXPECT_EQ(m.wait_exit(), 0);
}

TEST(Process, CheckConfigReportsFileAndLine) {
    TempDir dir;
    dir.write("bad.conf", "[server]\nworkers = 2\nlsten = 127.0.0.1:80\n");
    auto r = run_command(std::string(MINID_BINARY) + " --check-config -c " + dir.file("bad.conf"));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("bad.conf:3"), std::string::npos) << r.output;
    dir.write("good.conf", "[server]\nworkers = 2\n[http]\nroot = " + dir.path() + "\n");
    r = run_command(std::string(MINID_BINARY) + " --check-config -c " + dir.file("good.conf"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Process, BindFailureIsAClearError) {
    Site site("", "", 1);
    MinidProcess first;
    ASSERT_TRUE(first.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(first.wait_serving(site.port));
    auto r = run_command(std::string(MINID_BINARY) + " -c " + site.config_path);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("Address already in use"), std::string::npos) << r.output;
    first.signal(SIGTERM);
    EXPECT_EQ(first.wait_exit(), 0);
}

TEST(Process, SocketActivatedKeepsSystemdSockets) {
    if (run_command("command -v systemd-socket-activate").exit_code != 0)
        GTEST_SKIP() << "systemd-socket-activate not installed";
    Site site("", "", 2);
    NotifySocket notify(site.dir.file("notify.sock"));
    MinidProcess m;
    // The config names another port: under socket activation the systemd sockets win.
    const uint16_t port = free_port();
    ASSERT_TRUE(m.start({"-l", "127.0.0.1:" + std::to_string(port), "--fdname=http", "-E",
                         "NOTIFY_SOCKET=" + notify.path(), MINID_BINARY, "-c", site.config_path},
                        site.log_path, {}, "/usr/bin/systemd-socket-activate"));
    // systemd-socket-activate starts the program on the first connection.
    ASSERT_TRUE(m.wait_serving(port)) << m.log();
    notify.collect(5s, "READY=1");
    ASSERT_EQ(notify.count("READY=1"), 1u) << m.log();
    EXPECT_EQ(notify.messages().back().pid, m.pid()) << "only the main process notifies";
    EXPECT_EQ(http_get(port, "/hello.txt")->body, "Hello, world!");
    EXPECT_FALSE(http_get(site.port, "/hello.txt").has_value()) << "config listen= must be unused";
    EXPECT_NE(m.log().find("(from systemd)"), std::string::npos) << m.log();
    // The socket keeps systemd's backlog: we never call listen() on it again.
    auto ss = run_command("ss -ltn 'sport = :" + std::to_string(port) + "'");
    if (ss.exit_code == 0) EXPECT_EQ(ss.output.find(" 128 "), std::string::npos) << ss.output;
    m.signal(SIGTERM);
    int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << m.log();
    notify.collect(1s);
    EXPECT_EQ(notify.count("STOPPING=1"), 1u);
}

TEST(Process, ListenFdsThatAreNotSocketsAreRefused) {
    TempDir dir;
    // fd 3 is a regular file here, not a socket.
    auto r = run_command("LISTEN_FDS=1 LISTEN_PID=$$ exec " + std::string(MINID_BINARY) +
                         " --workers 1 3</etc/hostname");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("not a listening stream socket"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace minid::test
