// TLS session resumption across workers and generations, with the master's session-ticket keys:
// `openssl s_client -sess_out` once, then `-sess_in` connections that must say "Reused", on two
// workers, after a SIGHUP reload, for TLS 1.3 and TLS 1.2, and an end to old tickets after the
// keys rotated past them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "integration/harness.hpp"
#include "integration/tls_clients.hpp"

namespace minid::test {
namespace {

using Json = nlohmann::json;

bool reused(const std::string& s_client_output) {
    return s_client_output.find("\nReused, TLSv1.") != std::string::npos;
}

class HttpsResumption : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(pki_.ok());
        ASSERT_TRUE(pki_.leaf("www", "DNS:www.test", 10));
        tls_port_ = free_port();
        socket_ = site_.dir.file("run/ctl.sock");
    }
    void start(const std::string& extra_server = "") {
        site_.dir.write("minid.conf",
                        "[server]\nlisten = 127.0.0.1:" + std::to_string(site_.port) +
                            "\nlisten_tls = 127.0.0.1:" + std::to_string(tls_port_) +
                            "\nworkers = 2\naccess_log = " + site_.dir.file("access.log") +
                            "\ncontrol_socket = " + socket_ + "\nlog_level = info\n" +
                            extra_server + "\n[http]\nroot = " + site_.root +
                            "\ntls_certificate = " + site_.dir.file("www.pem") +
                            "\ntls_key = " + site_.dir.file("www.key") + "\n");
        ASSERT_TRUE(m_.start({"-c", site_.config_path}, site_.log_path));
        ASSERT_TRUE(m_.wait_serving(site_.port)) << m_.log();
        ASSERT_TRUE(eventually([&] { return serving_workers() == 2; })) << m_.log();
    }
    void TearDown() override { stop_expecting_a_clean_exit(m_); }
    // One request over a new TLS connection; `opts` adds -sess_out/-sess_in and a version.
    std::string s_client(const std::string& opts) const {
        return run_command(
                   "printf 'GET /hello.txt HTTP/1.1\\r\\nHost: www.test\\r\\nConnection: "
                   "close\\r\\n\\r\\n' | timeout 10 openssl s_client -connect 127.0.0.1:" +
                   std::to_string(tls_port_) + " -servername www.test -CAfile " +
                   site_.dir.file("ca.pem") + " -ign_eof " + opts + " 2>&1")
            .output;
    }
    Json status() const {
        const auto r =
            run_command(std::string(MINIDCTL_BINARY) + " --control " + socket_ + " status --json");
        Json j = Json::parse(r.output, nullptr, false);
        return j.is_discarded() ? Json::object() : j;
    }
    int serving_workers() const {
        const Json j = status();
        if (!j.contains("workers")) return 0;
        int n = 0;
        for (const Json& w : j["workers"])
            if (w.value("state", "") == "serving") ++n;
        return n;
    }
    // Connections each serving worker has taken, by pid.
    std::map<int, uint64_t> connections_by_worker() const {
        std::map<int, uint64_t> m;
        const Json j = status();
        if (!j.contains("workers")) return m;
        for (const Json& w : j["workers"])
            if (w.value("state", "") == "serving")
                m[w.value("pid", 0)] = w.value("connections_total", uint64_t{0});
        return m;
    }
    // 20 connections resuming `session`; how many said "Reused".
    int resume_20(const std::string& session, const std::string& version) const {
        int n = 0;
        for (int i = 0; i < 20; ++i) {
            const std::string out = s_client(version + " -sess_in " + session);
            EXPECT_NE(out.find("Hello, world!"), std::string::npos) << out;
            if (reused(out)) ++n;
        }
        return n;
    }
    std::string reload_and_wait(int generation) {
        m_.signal(SIGHUP);
        const std::string line = "generation " + std::to_string(generation) + " is serving";
        EXPECT_TRUE(eventually([&] { return m_.log().find(line) != std::string::npos; }, 20s))
            << m_.log();
        EXPECT_TRUE(eventually([&] { return serving_workers() == 2; })) << m_.log();
        return line;
    }

    Site site_{"", "", 2};
    TestPki pki_{site_.dir};
    uint16_t tls_port_ = 0;
    std::string socket_;
    MinidProcess m_;
};

TEST_F(HttpsResumption, TicketsResumeOnEveryWorkerAndAfterAReload) {
    start();
    for (const std::string version : {"-tls1_3", "-tls1_2"}) {
        const std::string session = site_.dir.file("session" + version + ".pem");
        const std::string first = s_client(version + " -sess_out " + session);
        ASSERT_NE(first.find("\nNew, TLSv1."), std::string::npos) << first;
        // 20 resumptions; the kernel spreads them over both workers (checked below, since a
        // worker resuming its own tickets proves nothing).
        const auto before = connections_by_worker();
        const int n = resume_20(session, version);
        EXPECT_GE(n, 19) << version << ": " << n << " of 20 resumed";
        const auto after = connections_by_worker();
        ASSERT_EQ(before.size(), 2u);
        ASSERT_EQ(after.size(), 2u);
        int workers_used = 0;
        for (const auto& [pid, count] : after)
            if (count > before.at(pid)) ++workers_used;
        EXPECT_EQ(workers_used, 2) << version << ": one worker took all 20; nothing was shown";
    }
    // A reload: new worker processes, the same keys.
    const std::string session = site_.dir.file("session-tls1_3.pem");
    reload_and_wait(2);
    EXPECT_GE(resume_20(session, "-tls1_3"), 19) << "a ticket from generation 1 in generation 2";
    reload_and_wait(3);
    EXPECT_GE(resume_20(site_.dir.file("session-tls1_2.pem"), "-tls1_2"), 19);
}

TEST_F(HttpsResumption, HandshakesAreCountedInStatusAndMetrics) {
    start();
    const std::string session = site_.dir.file("session.pem");
    ASSERT_NE(s_client("-tls1_3 -sess_out " + session).find("\nNew, TLSv1.3"), std::string::npos);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(reused(s_client("-tls1_3 -sess_in " + session)));
    EXPECT_EQ(s_client("-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'").find("Hello, world!"),
              std::string::npos);
    {
        Client c(tls_port_);
        ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: www.test\r\n\r\n"));
        std::string back;
        EXPECT_TRUE(c.read_until_close(back, 5s));
    }
    Json tls;
    const bool counted = eventually([&] {
        tls = status()["totals"]["tls"];
        return tls.is_object() && tls["failures"]["version"] == 1 &&
               tls["failures"]["not_tls"] == 1;
    });
    ASSERT_TRUE(counted) << tls.dump();
    EXPECT_EQ(tls["handshakes"], 1) << tls.dump();
    EXPECT_EQ(tls["resumed"], 5) << tls.dump();
    for (const char* k : {"cipher", "client_alert", "timeout", "closed", "other"})
        EXPECT_EQ(tls["failures"][k], 0) << k << ": " << tls.dump();

    const auto metrics =
        run_command(std::string(MINIDCTL_BINARY) + " --control " + socket_ + " metrics").output;
    EXPECT_NE(metrics.find("minid_tls_handshakes_total{worker="), std::string::npos) << metrics;
    EXPECT_NE(metrics.find(",reason=\"not_tls\"} 1\n"), std::string::npos) << metrics;
    const auto table =
        run_command(std::string(MINIDCTL_BINARY) + " --control " + socket_ + " status").output;
    EXPECT_NE(
        table.find("tls:        6 handshakes, 5 resumed (83%); 2 failed: version 1, not_tls 1"),
        std::string::npos)
        << table;
}

TEST_F(HttpsResumption, OldTicketsEndAfterTheKeysRotatedPastThem) {
    start("tls_ticket_key_rotation = 1s\n");
    const std::string session = site_.dir.file("session.pem");
    // Wait for a rotation first, so the ticket is issued right after one.
    const std::string rotated = "session-ticket keys rotated";
    ASSERT_TRUE(eventually([&] { return count_of(m_.log(), rotated) >= 1; })) << m_.log();
    // Issued between two rotations (tried again if one came in between).
    size_t at_issue = 0;
    for (int i = 0; i < 5; ++i) {
        at_issue = count_of(m_.log(), rotated);
        ASSERT_NE(s_client("-tls1_3 -sess_out " + session).find("\nNew, TLSv1.3"),
                  std::string::npos);
        if (count_of(m_.log(), rotated) == at_issue) break;
    }
    // Under the previous key (one rotation later) it still resumes.
    ASSERT_TRUE(eventually([&] { return count_of(m_.log(), rotated) >= at_issue + 1; }))
        << m_.log();
    EXPECT_TRUE(reused(s_client("-tls1_3 -sess_in " + session)));
    // Three rotations after it was issued, its key is gone: a full handshake.
    ASSERT_TRUE(eventually([&] { return count_of(m_.log(), rotated) >= at_issue + 3; }))
        << m_.log();
    const std::string out = s_client("-tls1_3 -sess_in " + session);
    EXPECT_FALSE(reused(out)) << out;
    EXPECT_NE(out.find("Hello, world!"), std::string::npos) << out;
}

}  // namespace
}  // namespace minid::test
