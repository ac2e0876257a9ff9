// The workers' egress filter in the real binary: a worker whose configuration has no TCP
// upstream runs under one more seccomp filter than its master (/proc/PID/status) and says so
// once at start; a unix-socket upstream still works through it; a TCP upstream leaves the
// workers without it, and proxying over TCP works.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <string>

#include "integration/fake_upstream.hpp"
#include "integration/harness.hpp"

namespace minid::test {
namespace {

// "Seccomp:" (0 none, 2 filter) and "Seccomp_filters:" (how many) of a process.
struct SeccompState {
    int mode = -1;
    int filters = -1;
};
SeccompState seccomp_of(pid_t pid) {
    SeccompState s;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("Seccomp:")) s.mode = std::stoi(line.substr(8));
        if (line.starts_with("Seccomp_filters:")) s.filters = std::stoi(line.substr(16));
    }
    return s;
}

struct Server {
    Site site;
    MinidProcess minid;
    bool ok = false;
    explicit Server(const std::string& http_extra) : site("", http_extra, 2) {
        ok = minid.start({"-c", site.config_path}, site.log_path) && minid.wait_serving(site.port);
    }
    ~Server() {
        minid.signal(SIGTERM);
        minid.wait_exit();
    }
    // Every worker has `extra` more filters than the master (and at least one worker exists).
    bool workers_have_extra_filters(int extra) const {
        const SeccompState master = seccomp_of(minid.pid());
        const auto workers = children_of(minid.pid());
        if (workers.empty() || master.filters < 0) return false;
        for (pid_t w : workers) {
            const SeccompState s = seccomp_of(w);
            if (s.filters != master.filters + extra) return false;
            if (extra > 0 && s.mode != 2) return false;
        }
        return true;
    }
    std::optional<HttpResponse> get(const std::string& target) const {
        Client c(site.port);
        if (!c.connected() ||
            !c.send("GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))
            return std::nullopt;
        auto r = c.read_responses(1, 5s);
        if (r.empty()) return std::nullopt;
        return r[0];
    }
};

UpstreamReply hello(const UpstreamRequest&) {
    return UpstreamReply::ok("from the app");
}

TEST(EgressFilter, WorkersWithoutAnUpstreamCannotMakeIpSockets) {
    Server s("");
    ASSERT_TRUE(s.ok) << s.minid.log();
    EXPECT_TRUE(eventually([&] { return s.workers_have_extra_filters(1); }, 5s)) << s.minid.log();
    auto r = s.get("/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    // Once per worker.
    auto said = [&] {
        const std::string log = s.minid.log();
        size_t n = 0;
        for (size_t p = log.find("socket(AF_INET/AF_INET6) denied"); p != std::string::npos;
             p = log.find("socket(AF_INET/AF_INET6) denied", p + 1))
            ++n;
        return n;
    };
    EXPECT_TRUE(eventually([&] { return said() == 2; }, 5s)) << s.minid.log();
}

TEST(EgressFilter, AUnixUpstreamWorksBehindTheFilter) {
    TempDir d;
    FakeUpstream up(hello, d.file("app.sock"));
    ASSERT_TRUE(up.listening());
    Server s("proxy = /app app\n[upstream app]\nserver = " + up.address() + "\n");
    ASSERT_TRUE(s.ok) << s.minid.log();
    EXPECT_TRUE(eventually([&] { return s.workers_have_extra_filters(1); }, 5s)) << s.minid.log();
    auto r = s.get("/app/x");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << s.minid.log();
    EXPECT_EQ(r->body, "from the app");
}

TEST(EgressFilter, ATcpUpstreamKeepsIpSocketsAndWorks) {
    FakeUpstream up(hello);
    ASSERT_TRUE(up.listening());
    Server s("proxy = /app app\n[upstream app]\nserver = " + up.address() + "\n");
    ASSERT_TRUE(s.ok) << s.minid.log();
    EXPECT_TRUE(eventually(
        [&] { return s.minid.log().find("IP sockets allowed") != std::string::npos; }, 5s))
        << s.minid.log();
    EXPECT_TRUE(s.workers_have_extra_filters(0)) << s.minid.log();
    auto r = s.get("/app/x");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << s.minid.log();
    EXPECT_EQ(r->body, "from the app");
}

}  // namespace
}  // namespace minid::test
