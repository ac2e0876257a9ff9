// Faults the real binary must survive: running out of file descriptors, files it may not read,
// a file truncated while it is being sent, and an access log on a full disk. Each time minid
// keeps serving, does not spin, and says what happened once.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

// A config written whole (Site's own always names an access log file).
void write_config(Site& site, const std::string& server, const std::string& http) {
    site.dir.write("minid.conf", "[server]\nlisten = 127.0.0.1:" + std::to_string(site.port) +
                                     "\nworkers = 1\ncontrol_socket = off\n" + server +
                                     "\n[http]\nroot = " + site.root + "\n" + http + "\n");
}

// User + system CPU time of a process, in seconds.
double cpu_seconds(pid_t pid) {
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream in(stat.substr(paren + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) utime = std::stoul(field);
        if (i == 15) stime = std::stoul(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

size_t count_of(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
    return n;
}

// Receives into c.buffered() until it holds `n` bytes; false on EOF or timeout.
bool read_at_least(Client& c, size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    while (c.buffered().size() < n) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t got = ::recv(c.fd(), buf, sizeof buf, 0);
        if (got <= 0) return false;
        c.buffered().append(buf, static_cast<size_t>(got));
    }
    return true;
}

const std::string kGet = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";

void stop(MinidProcess& m) {
    m.signal(SIGTERM);
    const int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << "\n" << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

TEST(Faults, OutOfDescriptorsKeepsServingWithoutSpinningAndRecovers) {
    if (run_command("command -v prlimit").exit_code != 0) GTEST_SKIP() << "prlimit not installed";
    Site site;
    write_config(site, "access_log = off", "keepalive_timeout = 60s");
    MinidProcess m;
    ASSERT_TRUE(m.start({"--nofile=64:64", MINID_BINARY, "-c", site.config_path}, site.log_path, {},
                        "/usr/bin/prlimit"));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    ASSERT_TRUE(eventually([&] { return children_of(m.pid()).size() == 1; })) << m.log();
    const pid_t worker = children_of(m.pid())[0];

    // More connections than the worker has descriptors: each sends a request; the ones that
    // do not fit wait unanswered in the listen queue.
    std::vector<std::unique_ptr<Client>> served, waiting;
    for (int i = 0; i < 80; ++i) {
        auto c = std::make_unique<Client>(site.port);
        ASSERT_TRUE(c->connected());
        ASSERT_TRUE(c->send(kGet));
        if (!waiting.empty()) {  // the queue is not taken from any more: no need to wait
            waiting.push_back(std::move(c));
            continue;
        }
        auto r = c->read_responses(1, 300ms);
        if (r.empty()) {
            waiting.push_back(std::move(c));
            continue;
        }
        ASSERT_EQ(r[0].status, 200) << "connection " << i;
        served.push_back(std::move(c));
    }
    ASSERT_GE(served.size(), 30u) << m.log();
    ASSERT_GE(waiting.size(), 10u) << "the descriptor limit was never reached\n" << m.log();

    // No busy loop while the listen queue holds connections it cannot take.
    const double before = cpu_seconds(worker);
    std::this_thread::sleep_for(2s);
    const double used = cpu_seconds(worker) - before;
    EXPECT_LT(used, 0.2) << "worker used " << used << " s of CPU in 2 s while out of fds";

    // The connections it has still get answers (the cached file was last checked > 1 s ago,
    // and a reserve of descriptors is kept for opening files).
    for (size_t i = 0; i < 5; ++i) {
        ASSERT_TRUE(served[i]->send(kGet));
        auto r = served[i]->read_responses(1, 2s);
        ASSERT_EQ(r.size(), 1u) << "open connection " << i << " not served";
        EXPECT_EQ(r[0].status, 200);
        EXPECT_EQ(r[0].body, "Hello, world!");
    }
    // A file not opened before needs a descriptor of its own: the reserve provides it.
    ASSERT_TRUE(served[5]->send("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = served[5]->read_responses(1, 2s);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(count_of(m.log(), "pausing accepts"), 1u) << m.log();

    // Freeing descriptors lets the waiting connections in, and their requests are answered.
    served.erase(served.begin(), served.begin() + 20);
    size_t answered = 0;
    std::vector<bool> done(waiting.size(), false);
    eventually(
        [&] {
            for (size_t i = 0; i < waiting.size(); ++i) {
                if (done[i]) continue;
                auto r = waiting[i]->read_responses(1, 20ms);
                if (!r.empty() && r[0].status == 200) done[i] = true, ++answered;
            }
            return answered >= 20;
        },
        5s, 50ms);
    EXPECT_GE(answered, 15u) << m.log();
    EXPECT_NE(m.log().find("accepting on"), std::string::npos) << m.log();
    waiting.clear();
    served.clear();
    auto fresh = http_get(site.port, "/hello.txt");
    ASSERT_TRUE(fresh.has_value());
    EXPECT_EQ(fresh->status, 200);
    EXPECT_TRUE(process_alive(worker));
    stop(m);
}

TEST(Faults, UnreadableFilesAre403) {
    // Root reads any file whatever its mode; without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
    // it obeys the mode bits like any user, which is how minid runs under systemd hardening.
    if (run_command("command -v setpriv").exit_code != 0) GTEST_SKIP() << "setpriv not installed";
    Site site;
    write_config(site, "access_log = off", "");
    site.dir.write("www/secret.txt", "mode 000");
    site.dir.write("www/closed/inner.txt", "in a mode-000 directory");
    ASSERT_EQ(::chmod(site.dir.file("www/secret.txt").c_str(), 0), 0);
    ASSERT_EQ(::chmod(site.dir.file("www/closed").c_str(), 0), 0);
    MinidProcess m;
    ASSERT_TRUE(m.start({"--bounding-set=-dac_override,-dac_read_search", "--", MINID_BINARY, "-c",
                         site.config_path},
                        site.log_path, {}, "/usr/bin/setpriv"));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    auto r = http_get(site.port, "/secret.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 403);
    EXPECT_EQ(r->body.find("mode 000"), std::string::npos);
    r = http_get(site.port, "/closed/inner.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 403);
    r = http_get(site.port, "/hello.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    stop(m);
    ::chmod(site.dir.file("www/closed").c_str(), 0755);
}

TEST(Faults, FileTruncatedWhileBeingSentClosesTheConnection) {
    Site site;
    write_config(site, "access_log = off", "send_timeout = 10s");
    constexpr size_t kSize = 32u << 20;
    site.dir.write("www/big.bin", std::string(kSize, 'z'));
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();

    Client c(site.port);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    // Take the head and some of the body, so the server is mid-file and blocked on us.
    ASSERT_TRUE(read_at_least(c, 200000, 5s));
    ASSERT_EQ(::truncate(site.dir.file("www/big.bin").c_str(), 1 << 20), 0);
    std::string all;
    EXPECT_TRUE(c.read_until_close(all, 10s)) << "connection not closed";
    const size_t head_end = all.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    EXPECT_NE(all.find("Content-Length: " + std::to_string(kSize)), std::string::npos);
    EXPECT_LT(all.size() - head_end - 4, kSize) << "the whole promised length arrived";
    EXPECT_TRUE(eventually([&] { return m.log().find("shrank") != std::string::npos; }, 2s))
        << m.log();

    // The worker is fine and serves the file at its new size (once its cache rechecks it:
    // an answer is trusted for the rest of the second it was checked in).
    EXPECT_TRUE(eventually(
        [&] {
            auto r = http_get(site.port, "/big.bin");
            return r.has_value() && r->status == 200 && r->body.size() == 1u << 20;
        },
        5s, 200ms));
    stop(m);
}

TEST(Faults, AccessLogOnAFullDeviceIsReportedOnceAndServingContinues) {
    Site site;
    write_config(site, "access_log = /dev/full", "");
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    for (int i = 0; i < 50; ++i) {
        auto r = http_get(site.port, "/hello.txt");
        ASSERT_TRUE(r.has_value()) << "request " << i;
        EXPECT_EQ(r->status, 200);
    }
    const std::string log = m.log();
    EXPECT_EQ(count_of(log, "No space left on device"), 1u) << log;
    stop(m);
}

TEST(Faults, AccessLogOnAFullFilesystemRecoversWhenSpaceIsFreed) {
    // A 16 KiB tmpfs in a private mount namespace (nothing of it is visible outside); the test
    // reaches it through /proc/PID/root to free space.
    Site site;
    const std::string mnt = site.dir.file("logfs");
    ::mkdir(mnt.c_str(), 0755);
    write_config(site, "access_log = " + mnt + "/access.log", "");
    if (run_command("unshare -m --propagation private true").exit_code != 0)
        GTEST_SKIP() << "cannot create a mount namespace here";
    MinidProcess m;
    ASSERT_TRUE(m.start({"-m", "--propagation", "private", "/bin/sh", "-c",
                         "mount -t tmpfs -o size=16k minid-test " + mnt + " && exec " +
                             MINID_BINARY + " -c " + site.config_path},
                        site.log_path, {}, "/usr/bin/unshare"));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    const std::string log_inside =
        "/proc/" + std::to_string(m.pid()) + "/root" + mnt + "/access.log";

    // ~120 bytes a line: 400 requests need more than 16 KiB.
    const std::string agent = "User-Agent: " + std::string(40, 'a') + "\r\n";
    for (int i = 0; i < 400; ++i) {
        auto r = http_get(site.port, "/hello.txt", agent);
        ASSERT_TRUE(r.has_value()) << "request " << i << "\n" << m.log();
        ASSERT_EQ(r->status, 200);
    }
    ASSERT_TRUE(eventually([&] { return m.log().find("No space left") != std::string::npos; }))
        << m.log();
    EXPECT_EQ(count_of(m.log(), "No space left on device"), 1u) << m.log();
    EXPECT_EQ(m.log().find("writable again"), std::string::npos);

    ASSERT_EQ(::truncate(log_inside.c_str(), 0), 0) << log_inside;
    ASSERT_TRUE(http_get(site.port, "/hello.txt").has_value());
    EXPECT_TRUE(eventually([&] { return m.log().find("writable again") != std::string::npos; }))
        << m.log();
    EXPECT_NE(read_file(log_inside).find("GET /hello.txt"), std::string::npos);
    stop(m);
}

}  // namespace
}  // namespace minid::test
