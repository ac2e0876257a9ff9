// Zero-downtime lifecycle with the real binary: reload under load, broken reloads, drains on
// reload and stop, crash recovery with backoff, hang detection, master death, sd_notify.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <set>
#include <thread>

#include "integration/harness.hpp"
#include "integration/load_client.hpp"
#include "integration/notify_socket.hpp"

namespace minid::test {
namespace {

using Clock = std::chrono::steady_clock;

size_t count_occurrences(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1))
        ++n;
    return n;
}

uint64_t last_generation_in_log(const std::string& log) {
    std::regex re("generation ([0-9]+) is serving");
    uint64_t last = 0;
    for (std::sregex_iterator it(log.begin(), log.end(), re), end; it != end; ++it)
        last = std::stoull((*it)[1]);
    return last;
}

// The longest "reload complete ... after N ms" in the log.
uint64_t longest_reload_ms(const std::string& log) {
    std::regex re("reload complete: generation [0-9]+ is serving after ([0-9]+) ms");
    uint64_t longest = 0;
    for (std::sregex_iterator it(log.begin(), log.end(), re), end; it != end; ++it)
        longest = std::max<uint64_t>(longest, std::stoull((*it)[1]));
    return longest;
}

void expect_clean_exit(MinidProcess& m) {
    int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "wait status " << st << "\n" << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

TEST(Lifecycle, TwentyReloadsUnderLoadFailNothing) {
    Site site("", "", 2);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    const pid_t master = m.pid();
    ASSERT_TRUE(eventually([&] { return children_of(master).size() == 2; }));
    const auto first_workers = children_of(master);

    LoadClient load(site.port, "/hello.txt", "Hello, world!", 12, 2);
    load.start();
    std::this_thread::sleep_for(300ms);
    // Like `systemctl reload`, which waits for READY=1: the next SIGHUP once the last reload has
    // completed, since SIGHUPs that arrive during a reload are merged into one more reload.
    for (unsigned i = 1; i <= 20; ++i) {
        m.signal(SIGHUP);
        ASSERT_TRUE(
            eventually([&] { return count_occurrences(m.log(), "reload complete") >= i; }, 15s))
            << "reload " << i << " did not complete\n"
            << m.log();
        std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(500ms);
    LoadResult r = load.stop();

    EXPECT_EQ(r.failed, 0u) << (r.first_errors.empty() ? "" : r.first_errors[0]);
    EXPECT_EQ(r.connect_errors, 0u);
    EXPECT_GT(r.ok, 1000u);
    const std::string log = m.log();
    EXPECT_GE(count_occurrences(log, "reload complete"), 20u) << log;
    EXPECT_GE(last_generation_in_log(log), 21u);
    EXPECT_EQ(m.pid(), master);
    auto now_workers = children_of(master);
    for (pid_t p : first_workers)
        EXPECT_EQ(std::find(now_workers.begin(), now_workers.end(), p), now_workers.end());
    std::cout << "[          ] " << r.ok << " requests, " << r.failed
              << " failed across 20 reloads; the longest reload took " << longest_reload_ms(log)
              << " ms\n";
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Lifecycle, BrokenConfigReloadKeepsOldWorkersServing) {
    Site site("", "", 2);
    NotifySocket notify(site.dir.file("notify.sock"));
    MinidProcess m;
    ASSERT_TRUE(
        m.start({"-c", site.config_path}, site.log_path, {"NOTIFY_SOCKET=" + notify.path()}));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    notify.collect(5s, "READY=1");
    ASSERT_TRUE(eventually([&] { return children_of(m.pid()).size() == 2; }));
    const auto workers = children_of(m.pid());

    site.dir.write("minid.conf", "[server]\nworkers = two\n");
    m.signal(SIGHUP);
    notify.collect(5s, "reload failed");
    EXPECT_TRUE(eventually([&] { return m.log().find("reload failed") != std::string::npos; }));
    EXPECT_NE(m.log().find("minid.conf:2"), std::string::npos) << m.log();
    EXPECT_EQ(children_of(m.pid()), workers);
    EXPECT_EQ(http_get(site.port, "/hello.txt")->status, 200);
    const auto kinds = notify.kinds();
    ASSERT_GE(kinds.size(), 3u);
    EXPECT_EQ(kinds[kinds.size() - 2], "RELOADING=1");
    EXPECT_EQ(kinds.back(), "READY=1");
    EXPECT_NE(notify.messages().back().text.find("STATUS=reload failed"), std::string::npos);

    // Fixed again: the next reload works.
    site.write_config("", "", 2);
    m.signal(SIGHUP);
    EXPECT_TRUE(eventually([&] { return m.log().find("reload complete") != std::string::npos; }));
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Lifecycle, NotifySequenceForStartReloadStop) {
    Site site("", "", 1);
    NotifySocket notify(site.dir.file("notify.sock"));
    MinidProcess m;
    ASSERT_TRUE(
        m.start({"-c", site.config_path}, site.log_path, {"NOTIFY_SOCKET=" + notify.path()}));
    notify.collect(10s, "READY=1");
    m.signal(SIGHUP);
    notify.collect(10s, "READY=1");
    m.signal(SIGTERM);
    notify.collect(10s, "STOPPING=1");
    expect_clean_exit(m);
    EXPECT_EQ(notify.kinds(),
              (std::vector<std::string>{"READY=1", "RELOADING=1", "READY=1", "STOPPING=1"}));
    for (const auto& msg : notify.messages()) EXPECT_EQ(msg.pid, m.pid() < 0 ? -m.pid() : m.pid());
    for (const auto& msg : notify.messages())
        if (msg.text.rfind("RELOADING=1", 0) == 0)
            EXPECT_NE(msg.text.find("MONOTONIC_USEC="), std::string::npos);
}

// Reads a large file slowly while the server reloads and then stops: every byte must arrive.
TEST(Lifecycle, SlowDownloadSurvivesReloadAndStop) {
    Site site("", "", 1);
    const size_t size = 8 * 1024 * 1024;
    std::string big(size, '\0');
    for (size_t i = 0; i < size; ++i) big[i] = static_cast<char>('a' + i % 26);
    site.dir.write("www/big.bin", big);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();

    Client c(site.port);
    int rcvbuf = 16 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    ASSERT_TRUE(c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string got;
    auto t0 = Clock::now();
    bool reloaded = false, stopped = false;
    char buf[32768];
    while (Clock::now() - t0 < 60s) {
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
        if (!reloaded && got.size() > size / 4) {
            m.signal(SIGHUP);
            reloaded = true;
        }
        if (!stopped && got.size() > size / 2) {
            m.signal(SIGTERM);
            stopped = true;
        }
        std::this_thread::sleep_for(2ms);
    }
    HttpResponse r;
    ASSERT_GT(parse_response(got, r), 0u) << got.size() << " bytes";
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), size);
    EXPECT_TRUE(r.body == big);
    EXPECT_EQ(r.header("connection"), "");  // the response began before the drain
    expect_clean_exit(m);
}

TEST(Lifecycle, StopWithIdleKeepAliveConnectionsIsPrompt) {
    Site site("", "", 2);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    std::vector<std::unique_ptr<Client>> idle;
    for (int i = 0; i < 10; ++i) {
        idle.push_back(std::make_unique<Client>(site.port));
        idle.back()->send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_EQ(idle.back()->read_responses(1).size(), 1u);
    }
    auto t0 = Clock::now();
    m.signal(SIGTERM);
    expect_clean_exit(m);
    EXPECT_LT(Clock::now() - t0, 3s);
    for (auto& c : idle) EXPECT_TRUE(c->closed_by_peer(100ms));
}

TEST(Lifecycle, StopWithAStuckClientEndsAtGracefulTimeout) {
    Site site("graceful_timeout = 2s\n", "", 1);
    site.dir.write("www/big.bin", std::string(32 * 1024 * 1024, 'z'));
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    Client stuck(site.port);
    int rcvbuf = 4096;
    ::setsockopt(stuck.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    stuck.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");  // and never read
    std::this_thread::sleep_for(300ms);
    auto t0 = Clock::now();
    m.signal(SIGTERM);
    int st = m.wait_exit(20s);
    const auto took = Clock::now() - t0;
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << m.log();
    EXPECT_GE(took, 1800ms);
    EXPECT_LT(took, 6s);
    EXPECT_NE(m.log().find("graceful_timeout reached"), std::string::npos) << m.log();
}

TEST(Lifecycle, CrashingWorkersAreRestartedWithBackoff) {
    Site site("", "", 1);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    // Kill every worker the moment it appears, for 3 seconds: a crash loop at start-up.
    std::set<pid_t> seen;
    auto t0 = Clock::now();
    while (Clock::now() - t0 < 3s) {
        for (pid_t p : children_of(m.pid())) {
            if (seen.insert(p).second) ::kill(p, SIGKILL);
        }
        std::this_thread::sleep_for(5ms);
    }
    // Without backoff this would be hundreds of forks; with 0, 0.2, 0.4, 0.8, 1.6 s it is ~6.
    EXPECT_LE(seen.size(), 8u);
    EXPECT_GE(seen.size(), 3u);
    EXPECT_NE(m.log().find("next start in"), std::string::npos) << m.log();
    // After the storm a worker comes back and serves (backoff may be up to a few seconds).
    EXPECT_TRUE(eventually(
        [&] {
            auto r = http_get(site.port, "/hello.txt");
            return r && r->status == 200;
        },
        15s))
        << m.log();
    m.signal(SIGTERM);
    EXPECT_GE(m.wait_exit(), 0);
}

TEST(Lifecycle, FatalWorkerExitIsNotRespawned) {
    Site site("", "", 1);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    // The document root disappears; a replacement worker cannot open it and exits "fatal".
    ASSERT_EQ(run_command("mv " + site.root + " " + site.root + ".gone").exit_code, 0);
    for (pid_t p : children_of(m.pid())) ::kill(p, SIGKILL);
    int st = m.wait_exit(10s);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) << st << m.log();
    EXPECT_NE(m.log().find("not restarting it"), std::string::npos) << m.log();
}

TEST(Lifecycle, WorkersExitWhenTheMasterIsKilled) {
    Site site("", "", 2);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    ASSERT_TRUE(eventually([&] { return children_of(m.pid()).size() == 2; }));
    auto workers = children_of(m.pid());
    m.signal(SIGKILL);
    m.wait_exit();
    EXPECT_TRUE(eventually(
        [&] {
            for (pid_t p : workers)
                if (process_alive(p)) return false;
            return true;
        },
        5s));
}

// The master's once-a-second ping is what keeps a worker alive: idle workers that answer it
// are never taken for hung, even with the shortest hang_timeout, while it is well exceeded.
TEST(Lifecycle, IdleWorkersAnswerPingsAndAreNotKilled) {
    Site site("hang_timeout = 2s", "", 2);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    ASSERT_TRUE(eventually([&] { return children_of(m.pid()).size() == 2; }));
    const auto workers = children_of(m.pid());
    std::this_thread::sleep_for(5s);
    EXPECT_EQ(children_of(m.pid()), workers) << m.log();
    EXPECT_EQ(m.log().find("has not made progress"), std::string::npos) << m.log();
    EXPECT_EQ(http_get(site.port, "/hello.txt")->status, 200);
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Lifecycle, HungWorkerIsReplacedAfterHangTimeout) {
    Site site("hang_timeout = 3s", "", 1);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    auto workers = children_of(m.pid());
    ASSERT_EQ(workers.size(), 1u);
    const auto stopped = Clock::now();
    ::kill(workers[0], SIGSTOP);  // its loop stops turning, like a hang
    EXPECT_TRUE(eventually(
        [&] {
            auto now = children_of(m.pid());
            return now.size() == 1 && now[0] != workers[0];
        },
        20s))
        << m.log();
    const auto took = Clock::now() - stopped;
    // The last pong may be up to a second old when the worker stops, and the master looks once
    // a second: 2 to 5 s after the stop.
    EXPECT_GE(took, 1900ms) << "killed before hang_timeout";
    EXPECT_LT(took, 8s) << "hang_timeout = 3s took this long";
    EXPECT_NE(m.log().find("has not made progress"), std::string::npos);
    EXPECT_EQ(http_get(site.port, "/hello.txt")->status, 200);
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Lifecycle, ReloadAppliesNewSettingsAndListeners) {
    Site site("", "", 1);
    site.dir.write("www2/hello.txt", "second root");
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    const uint16_t extra = free_port();
    site.root = site.dir.file("www2");
    site.write_config("listen = 127.0.0.1:" + std::to_string(extra) + "\n", "", 1);
    m.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return m.log().find("reload complete") != std::string::npos; }))
        << m.log();
    // The old generation may still take a connection until its SIGTERM is handled; after that
    // every answer comes from the new settings.
    EXPECT_TRUE(eventually(
        [&] {
            auto r = http_get(site.port, "/hello.txt");
            return r && r->body == "second root";
        },
        3s));
    EXPECT_EQ(http_get(site.port, "/hello.txt")->body, "second root");
    EXPECT_EQ(http_get(extra, "/hello.txt")->body, "second root");
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Lifecycle, WorkerCountFollowsTtinAndTtou) {
    Site site("", "", 1);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    m.signal(SIGTTIN);
    EXPECT_TRUE(eventually([&] { return children_of(m.pid()).size() == 2; }));
    m.signal(SIGTTOU);
    EXPECT_TRUE(eventually([&] { return children_of(m.pid()).size() == 1; }));
    m.signal(SIGTTOU);  // never below one
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(children_of(m.pid()).size(), 1u);
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Lifecycle, Usr1ReopensTheAccessLog) {
    Site site("", "", 1);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    const std::string access = site.dir.file("access.log");
    ASSERT_EQ(::rename(access.c_str(), (access + ".1").c_str()), 0);
    m.signal(SIGUSR1);
    EXPECT_TRUE(eventually(
        [&] {
            http_get(site.port, "/hello.txt?after-rotate");
            return read_file(access).find("after-rotate") != std::string::npos;
        },
        5s));
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

// A package upgrade replaces /usr/sbin/minid by rename; the next reload must run the new file.
TEST(Lifecycle, ReloadRunsAnUpgradedBinary) {
    Site site("", "", 1);
    const std::string exe = site.dir.file("minid");
    ASSERT_EQ(run_command("cp " + std::string(MINID_BINARY) + " " + exe).exit_code, 0);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path, {}, exe));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    ASSERT_EQ(run_command("cp " + exe + " " + exe + ".new && mv " + exe + ".new " + exe).exit_code,
              0);
    ASSERT_TRUE(eventually([&] { return children_of(m.pid()).size() == 1; }));
    EXPECT_NE(exe_of(children_of(m.pid())[0]).find("(deleted)"), std::string::npos);
    m.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return m.log().find("reload complete") != std::string::npos; }))
        << m.log();
    ASSERT_TRUE(eventually([&] { return children_of(m.pid()).size() == 1; }));
    EXPECT_EQ(exe_of(children_of(m.pid())[0]), exe) << "new workers run the new file";
    EXPECT_EQ(http_get(site.port, "/hello.txt")->status, 200);
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

// An upgrade whose workers cannot start (here: they refuse the master's protocol) fails the
// reload; the old generation keeps serving.
TEST(Lifecycle, ReloadWithAWorkerBinaryThatRefusesFailsCleanly) {
    Site site("", "", 1);
    const std::string exe = site.dir.file("minid");
    ASSERT_EQ(run_command("cp " + std::string(MINID_BINARY) + " " + exe).exit_code, 0);
    NotifySocket notify(site.dir.file("notify.sock"));
    MinidProcess m;
    ASSERT_TRUE(
        m.start({"-c", site.config_path}, site.log_path, {"NOTIFY_SOCKET=" + notify.path()}, exe));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    notify.collect(5s, "READY=1");
    const auto workers = children_of(m.pid());
    site.dir.write("minid.new", "#!/bin/sh\necho 'worker protocol 99' >&2\nexit 3\n");
    ASSERT_EQ(run_command("chmod +x " + exe + ".new && mv " + exe + ".new " + exe).exit_code, 0);
    m.signal(SIGHUP);
    notify.collect(10s, "reload failed");
    EXPECT_NE(m.log().find("another protocol"), std::string::npos) << m.log();
    EXPECT_EQ(children_of(m.pid()), workers);
    EXPECT_EQ(http_get(site.port, "/hello.txt")->status, 200);
    EXPECT_EQ(notify.kinds().back(), "READY=1");
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Lifecycle, WatchdogPingsWhileWorkersAreHealthy) {
    Site site("", "", 1);
    NotifySocket notify(site.dir.file("notify.sock"));
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path,
                        {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=400000"}));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    notify.collect(1500ms);
    EXPECT_GE(notify.count("WATCHDOG=1"), 3u);
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Lifecycle, LongDrainExtendsSystemdStopTimeout) {
    Site site("graceful_timeout = 3s\n", "", 1);
    site.dir.write("www/big.bin", std::string(32 * 1024 * 1024, 'z'));
    NotifySocket notify(site.dir.file("notify.sock"));
    MinidProcess m;
    ASSERT_TRUE(
        m.start({"-c", site.config_path}, site.log_path, {"NOTIFY_SOCKET=" + notify.path()}));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    Client stuck(site.port);
    int rcvbuf = 4096;
    ::setsockopt(stuck.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    stuck.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(300ms);
    m.signal(SIGTERM);
    notify.collect(2500ms);
    EXPECT_GE(notify.count("EXTEND_TIMEOUT_USEC="), 1u);
    m.wait_exit(20s);
}

// Signals that arrive while workers are still starting (even between fork and exec) must not be
// lost: a stop right after start-up still ends cleanly and promptly.
TEST(Lifecycle, StopDuringStartUpIsClean) {
    Site site("", "", 4);
    for (int round = 0; round < 5; ++round) {
        MinidProcess m;
        const std::string log = site.dir.file("startup-" + std::to_string(round) + ".log");
        ASSERT_TRUE(m.start({"-c", site.config_path}, log));
        // As soon as the master is up (its workers are being forked and exec'd right now).
        ASSERT_TRUE(eventually(
            [&] { return m.log().find("starting generation") != std::string::npos; }, 5s, 1ms));
        std::this_thread::sleep_for(std::chrono::milliseconds(round * 2));
        m.signal(SIGTERM);
        int st = m.wait_exit(8s);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
            << "round " << round << ": " << st << "\n"
            << m.log();
    }
}

}  // namespace
}  // namespace minid::test
