// Tests for the `minidctl status` table: header lines, one aligned row per worker, totals, and
// the totals since start once workers have exited.
#include "ctl/status_table.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace minid::ctl {
namespace {

control::StatusSnapshot snapshot() {
    control::StatusSnapshot s;
    s.master.pid = 4242;
    s.master.version = "0.1.0";
    s.master.uptime_s = 3661;
    s.master.generation = 7;
    s.master.config_file = "/etc/minid/minid.conf";
    s.master.listeners = {"127.0.0.1:8080", "[::1]:8080"};
    s.master.target_workers = 2;
    s.master.reloads_ok = 6;
    s.master.reloads_failed = 1;
    auto worker = [](pid_t pid, uint64_t gen, const char* state, uint64_t req) {
        control::WorkerStatus w;
        w.pid = pid;
        w.generation = gen;
        w.state = state;
        w.uptime_s = 125;
        w.requests = req;
        w.rps = 1234.5;
        w.connections_active = 17;
        w.bytes_out = 123456789012ull;
        w.status_class[1] = req - 5;
        w.status_class[2] = 2;
        w.status_class[3] = 2;
        w.status_class[4] = 1;
        w.rss_bytes = 5u << 20;
        return w;
    };
    s.workers = {worker(100, 6, "draining", 999), worker(4301, 7, "serving", 1234567),
                 worker(4302, 7, "serving", 7654321)};
    s.workers[2].rss_bytes.reset();
    s.totals = control::compute_totals(s.workers);
    return s;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// The column where the `n`th whitespace-separated cell of `line` ends.
size_t end_of_cell(const std::string& line, int n) {
    size_t pos = 0;
    for (int i = 0; i <= n; ++i) {
        pos = line.find_first_not_of(' ', pos);
        pos = line.find(' ', pos);
        if (pos == std::string::npos) return line.size();
    }
    return pos;
}

TEST(StatusTable, HeaderNamesTheMaster) {
    const auto lines = lines_of(render_status_table(snapshot()));
    ASSERT_GE(lines.size(), 5u);
    EXPECT_EQ(lines[0], "minid 0.1.0, master pid 4242, up 1h01m, generation 7");
    EXPECT_EQ(lines[1], "config:     /etc/minid/minid.conf");
    EXPECT_EQ(lines[2], "listening:  127.0.0.1:8080, [::1]:8080");
    EXPECT_EQ(lines[3], "workers:    2 serving, 1 draining (target 2)");
    EXPECT_EQ(lines[4], "reloads:    6 ok, 1 failed");
}

TEST(StatusTable, OneAlignedRowPerWorkerAndTotals) {
    const std::string text = render_status_table(snapshot());
    const auto lines = lines_of(text);
    size_t header = 0;
    while (header < lines.size() && lines[header].rfind("PID", 0) != 0) ++header;
    ASSERT_LT(header + 4, lines.size() + 1) << text;
    ASSERT_EQ(lines.size(), header + 5) << text;
    EXPECT_EQ(lines[header + 1].rfind("100 ", 0), 0u) << "old generation first";
    EXPECT_EQ(lines[header + 2].rfind("4301 ", 0), 0u);
    EXPECT_EQ(lines[header + 3].rfind("4302 ", 0), 0u);
    EXPECT_EQ(lines[header + 4].rfind("total ", 0), 0u);
    // REQ is the 5th header cell; numbers are right-aligned under it.
    const size_t req_end = end_of_cell(lines[header], 4);
    EXPECT_EQ(lines[header].substr(req_end - 3, 3), "REQ");
    EXPECT_EQ(lines[header + 2].substr(req_end - 7, 7), "1234567") << text;
    EXPECT_EQ(lines[header + 4].substr(req_end - 7, 7), "8889887") << text;
    for (size_t i = header + 1; i <= header + 3; ++i) {
        EXPECT_NE(lines[i].find("1234.5"), std::string::npos);
        EXPECT_NE(lines[i].find("115.0 GiB"), std::string::npos);
    }
    EXPECT_NE(lines[header + 4].find("3703.5"), std::string::npos) << "summed rate";
    EXPECT_NE(lines[header + 4].find("344.9 GiB"), std::string::npos) << "summed bytes";
    EXPECT_NE(lines[header + 4].find("10.0 MiB"), std::string::npos) << "summed known RSS";
    EXPECT_EQ(lines[header + 3].back(), '-') << "unknown RSS shows as -";
    for (const auto& l : lines) EXPECT_TRUE(l.empty() || l.back() != ' ') << "'" << l << "'";
}

TEST(StatusTable, AddsTheExitedWorkersToTotalsSinceStart) {
    control::StatusSnapshot s = snapshot();
    s.exited.workers = 4;
    s.exited.requests = 1000;
    s.exited.bytes_out = 1ull << 30;
    s.exited.status_class[1] = 990;
    s.exited.status_class[4] = 10;
    const std::string text = render_status_table(s);
    const auto lines = lines_of(text);
    EXPECT_EQ(lines[3], "workers:    2 serving, 1 draining (target 2), 4 exited");
    ASSERT_GE(lines.size(), 2u);
    const std::string& total = lines[lines.size() - 2];
    const std::string& since = lines.back();
    EXPECT_EQ(total.rfind("total ", 0), 0u) << text;
    ASSERT_EQ(since.rfind("since start ", 0), 0u) << text;
    size_t header = 0;
    while (header < lines.size() && lines[header].rfind("PID", 0) != 0) ++header;
    const size_t req_end = end_of_cell(lines[header], 4);
    EXPECT_EQ(since.substr(req_end - 7, 7), "8890887") << text;  // 8889887 live + 1000
    EXPECT_NE(since.find("345.9 GiB"), std::string::npos) << text;
    EXPECT_EQ(since.find("3703.5"), std::string::npos) << "a rate has no since-start sum";
    // 5XX: 3 live workers x 1 + 10 exited, as the row's last cell (no RSS there).
    EXPECT_EQ(since.substr(since.size() - 3), " 13") << text;
}

TEST(StatusTable, TlsHandshakesOnALineOfTheirOwnWhenThereWereAny) {
    control::StatusSnapshot s = snapshot();
    EXPECT_EQ(render_status_table(s).find("tls:"), std::string::npos) << "no TLS, no line";
    s.workers[1].tls_handshakes = 20;
    s.workers[1].tls_resumed = 60;
    s.workers[2].tls_resumed = 20;
    s.workers[2].tls_failures[static_cast<size_t>(TlsFailure::version)] = 2;
    s.workers[2].tls_failures[static_cast<size_t>(TlsFailure::timeout)] = 1;
    s.totals = control::compute_totals(s.workers);
    const std::string text = render_status_table(s);
    EXPECT_NE(text.find("\ntls:        100 handshakes, 80 resumed (80%); 3 failed: version 2, "
                        "timeout 1\n"),
              std::string::npos)
        << text;
}

TEST(StatusTable, NoSinceStartRowBeforeAWorkerExits) {
    const std::string text = render_status_table(snapshot());
    EXPECT_EQ(text.find("since start"), std::string::npos) << text;
    EXPECT_EQ(text.find("exited"), std::string::npos) << text;
}

TEST(StatusTable, ShowsReloadErrorAndStates) {
    control::StatusSnapshot s = snapshot();
    s.master.last_reload_error =
        "/etc/minid/minid.conf:3: unknown key 'lsten'\n/etc/minid/minid.conf:9: bad";
    s.master.reloading = true;
    s.master.socket_activated = true;
    s.master.config_file = "";
    const std::string text = render_status_table(s);
    EXPECT_NE(text.find("generation 7 (reloading)"), std::string::npos) << text;
    EXPECT_NE(text.find("(built-in settings)"), std::string::npos);
    EXPECT_NE(text.find("[::1]:8080 (from systemd)"), std::string::npos);
    EXPECT_NE(text.find("last error: /etc/minid/minid.conf:3: unknown key 'lsten'\n"
                        "            /etc/minid/minid.conf:9: bad\n"),
              std::string::npos)
        << text;
}

TEST(StatusTable, NoWorkers) {
    control::StatusSnapshot s = snapshot();
    s.workers.clear();
    s.totals = control::compute_totals(s.workers);
    const auto lines = lines_of(render_status_table(s));
    EXPECT_EQ(lines[3], "workers:    0 serving (target 2)");
    EXPECT_EQ(lines.back().rfind("total", 0), 0u);
}

}  // namespace
}  // namespace minid::ctl

namespace minid::ctl {
namespace {

TEST(StatusTable, AcmeCertificatesBelowTheWorkers) {
    control::StatusSnapshot s = snapshot();
    s.acme = control::Json::parse(R"({"ca":"https://ca.test/dir","certificates":[
        {"site":"shop","names":["a.test","b.test"],"have_certificate":true,"issuer":"/CN=CA",
         "serial":"0A","not_before":1000,"not_after":1893456000,"next_renewal":1800000000,
         "attempts":1,"retry_at":1700000600,"last_error":"CA answered HTTP 429","renewal_failures":1}]})");
    const std::string out = render_status_table(s);
    EXPECT_NE(
        out.find("certificates from https://ca.test/dir:\n  [site shop] a.test b.test\n"
                 "    issuer /CN=CA, serial 0A\n"
                 "    expires 2030-01-01 00:00 UTC, renewal 2027-01-15 08:00 UTC\n"
                 "    1 failed attempt(s), next 2023-11-14 22:23 UTC: CA answered HTTP 429\n"),
        std::string::npos)
        << out;
    EXPECT_EQ(render_status_table(snapshot()).find("certificates"), std::string::npos);
}

TEST(StatusTable, OneLinePerUpstream) {
    control::StatusSnapshot s;
    s.master.version = "0.1.0";
    control::UpstreamStatus u;
    u.name = "app";
    u.requests = 12;
    u.retries = 1;
    u.connect_errors = 2;
    u.open = 4;
    u.idle = 3;
    s.upstreams = {u};
    const std::string text = render_status_table(s);
    EXPECT_NE(text.find("upstream app: 12 requests, 1 retries; errors: 2 connect, 0 timeout, 0 bad "
                        "response, 0 queue full; connections: 4 open, 3 idle\n"),
              std::string::npos)
        << text;
    s.upstreams.clear();
    EXPECT_EQ(render_status_table(s).find("upstream"), std::string::npos);
}

}  // namespace
}  // namespace minid::ctl
