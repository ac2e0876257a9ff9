// minidctl against the real minid: status counts, --json vs the table, reload that waits (and
// fails with the config's file:line), status during a drain, metrics as Prometheus text, worker
// count, stop — and the exit codes for no daemon, a garbage socket and a forbidden socket.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/harness.hpp"
#include "tests/unit/ctl/prometheus_text.hpp"

namespace minid::test {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A Site whose config has the control socket on (Site's own config turns it off, and a second
// control_socket line would be a duplicate-key error).
struct CtlSite {
    Site site;
    std::string socket;
    explicit CtlSite(int workers = 2, const std::string& extra_server = "")
        : site("", "", workers) {
        socket = site.dir.file("run/ctl.sock");
        write_config(workers, extra_server);
    }
    void write_config(int workers, const std::string& extra_server = "") {
        site.dir.write("minid.conf", "[server]\nlisten = 127.0.0.1:" + std::to_string(site.port) +
                                         "\nworkers = " + std::to_string(workers) +
                                         "\naccess_log = " + site.dir.file("access.log") +
                                         "\ncontrol_socket = " + socket + "\n" + extra_server +
                                         "\n[http]\nroot = " + site.root + "\n");
    }
    CommandResult ctl(const std::string& args) const {
        return run_command(std::string(MINIDCTL_BINARY) + " --control " + socket + " " + args);
    }
    Json status() const {
        CommandResult r = ctl("status --json");
        EXPECT_EQ(r.exit_code, 0) << r.output;
        Json j = Json::parse(r.output, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << r.output;
        return j.is_discarded() ? Json::object() : j;
    }
};

bool start(MinidProcess& m, const CtlSite& s) {
    if (!m.start({"-c", s.site.config_path}, s.site.log_path)) return false;
    if (!m.wait_serving(s.site.port)) return false;
    // HTTP answers as soon as one worker accepts; wait until the master has committed the
    // first generation (0 until then), so tests start from a settled state.
    return eventually([&] {
        CommandResult r = s.ctl("status --json");
        Json j = Json::parse(r.output, nullptr, false);
        return r.exit_code == 0 && !j.is_discarded() && j["master"]["generation"] != 0 &&
               j["master"]["reloading"] == false;
    });
}

void expect_clean_exit(MinidProcess& m) {
    int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "wait status " << st << "\n" << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

uint64_t sum_of(const Json& status, const char* field) {
    uint64_t n = 0;
    for (const auto& w : status["workers"]) n += w[field].get<uint64_t>();
    return n;
}

// Table rows by pid: the cells of each worker row.
std::map<std::string, std::vector<std::string>> table_rows(const std::string& table) {
    std::map<std::string, std::vector<std::string>> rows;
    std::istringstream in(table);
    bool in_table = false;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("PID ", 0) == 0) {
            in_table = true;
            continue;
        }
        if (!in_table || line.rfind("total", 0) == 0) continue;
        std::istringstream cells(line);
        std::vector<std::string> v;
        for (std::string c; cells >> c;) v.push_back(c);
        if (!v.empty()) rows[v[0]] = v;
    }
    return rows;
}

TEST(Ctl, StatusCountsEveryRequestOnTheWorkersThatServedIt) {
    CtlSite s(2);
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    ASSERT_TRUE(eventually([&] { return s.status()["workers"].size() == 2; }));
    const Json before = s.status();
    const uint64_t base = sum_of(before, "requests"), base_2xx = sum_of(before, "status_2xx");

    const int kRequests = 57;
    for (int i = 0; i < kRequests; ++i) {
        auto r = http_get(s.site.port, "/hello.txt");
        ASSERT_TRUE(r && r->status == 200);
    }
    // Counters are bumped as responses complete; give the last one a moment.
    Json after;
    EXPECT_TRUE(eventually([&] {
        after = s.status();
        return sum_of(after, "requests") == base + kRequests;
    })) << after.dump(2);
    EXPECT_EQ(sum_of(after, "status_2xx"), base_2xx + kRequests);
    EXPECT_EQ(after["totals"]["requests"].get<uint64_t>(), base + kRequests);
    EXPECT_EQ(after["workers"].size(), 2u);
    for (const auto& w : after["workers"]) {
        EXPECT_EQ(w["state"], "serving");
        EXPECT_EQ(w["generation"], after["master"]["generation"]);
        EXPECT_GT(w["rss_bytes"].get<uint64_t>(), 0u);
        EXPECT_LT(w["heartbeat_age_ms"].get<uint64_t>(), 5000u);
        EXPECT_EQ(w["connections_active"].get<uint64_t>(), 0u);
    }
    EXPECT_EQ(after["master"]["pid"].get<pid_t>(), m.pid());
    EXPECT_EQ(after["master"]["config_file"], s.site.config_path);
    EXPECT_EQ(after["master"]["listeners"][0], "127.0.0.1:" + std::to_string(s.site.port));
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Ctl, CountsOfExitedWorkersKeepTheTotalsSinceStart) {
    CtlSite s(2);
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    ASSERT_TRUE(eventually([&] { return s.status()["workers"].size() == 2; }));
    // Whatever start() and wait_serving() cost (a probe connection) counts too.
    const uint64_t base = sum_of(s.status(), "requests");
    const uint64_t base_conns = sum_of(s.status(), "connections_total");
    const uint64_t kRequests = 23;
    for (uint64_t i = 0; i < kRequests; ++i) ASSERT_TRUE(http_get(s.site.port, "/hello.txt"));
    ASSERT_TRUE(eventually([&] { return sum_of(s.status(), "requests") == base + kRequests; }));
    const uint64_t conns = sum_of(s.status(), "connections_total");

    ASSERT_EQ(s.ctl("reload").exit_code, 0) << m.log();
    // The old generation drains (no connection is open) and exits; its counts move to "exited".
    Json j;
    EXPECT_TRUE(eventually([&] {
        j = s.status();
        return j["exited"]["workers"].get<uint64_t>() == 2;
    })) << j.dump(2);
    EXPECT_EQ(j["exited"]["requests"].get<uint64_t>(), base + kRequests);
    EXPECT_GE(j["exited"]["status_2xx"].get<uint64_t>(), kRequests);
    EXPECT_EQ(j["exited"]["connections_total"].get<uint64_t>(), conns);
    EXPECT_GE(conns, base_conns + kRequests);
    EXPECT_GT(j["exited"]["bytes_out"].get<uint64_t>(), 0u);
    EXPECT_EQ(j["totals"]["requests"].get<uint64_t>(), 0u) << "the new workers served nothing";

    ASSERT_TRUE(http_get(s.site.port, "/hello.txt"));
    ASSERT_TRUE(eventually([&] { return s.status()["totals"]["requests"] == 1; }));
    CommandResult table = s.ctl("status");
    ASSERT_EQ(table.exit_code, 0) << table.output;
    EXPECT_NE(table.output.find("(target 2), 2 exited"), std::string::npos) << table.output;
    const size_t since = table.output.find("\nsince start ");
    ASSERT_NE(since, std::string::npos) << table.output;
    std::istringstream row(table.output.substr(since + std::string("\nsince start ").size()));
    uint64_t requests_since_start = 0;
    row >> requests_since_start;
    EXPECT_EQ(requests_since_start, base + kRequests + 1) << table.output;
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Ctl, JsonMatchesTheTable) {
    CtlSite s(3);
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(http_get(s.site.port, "/hello.txt"));
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(http_get(s.site.port, "/missing"));
    ASSERT_TRUE(eventually([&] { return s.status()["workers"].size() == 3; }));
    std::this_thread::sleep_for(100ms);  // let the last counters land

    const Json j = s.status();
    CommandResult table = s.ctl("status");
    ASSERT_EQ(table.exit_code, 0) << table.output;
    const Json j2 = s.status();
    ASSERT_EQ(j["totals"]["requests"], j2["totals"]["requests"]) << "nothing changed meanwhile";

    EXPECT_NE(table.output.find("master pid " + std::to_string(m.pid())), std::string::npos)
        << table.output;
    EXPECT_NE(
        table.output.find("generation " + std::to_string(j["master"]["generation"].get<int>())),
        std::string::npos);
    EXPECT_NE(table.output.find(s.site.config_path), std::string::npos);
    auto rows = table_rows(table.output);
    ASSERT_EQ(rows.size(), 3u) << table.output;
    for (const auto& w : j["workers"]) {
        const auto& cells = rows[std::to_string(w["pid"].get<int>())];
        ASSERT_GE(cells.size(), 13u) << table.output;
        // PID GEN STATE UPTIME REQ REQ/S CONNS OUT(2 cells) 2XX 3XX 4XX 5XX RSS(2 cells)
        EXPECT_EQ(cells[1], std::to_string(w["generation"].get<int>()));
        EXPECT_EQ(cells[2], w["state"].get<std::string>());
        EXPECT_EQ(cells[4], std::to_string(w["requests"].get<uint64_t>()));
        EXPECT_EQ(cells[6], std::to_string(w["connections_active"].get<uint64_t>()));
        EXPECT_EQ(cells[9], std::to_string(w["status_2xx"].get<uint64_t>()));
        EXPECT_EQ(cells[11], std::to_string(w["status_4xx"].get<uint64_t>()));
    }
    EXPECT_NE(table.output.find("\ntotal "), std::string::npos);
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Ctl, ReloadWaitsForTheNewGeneration) {
    CtlSite s(2);
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    const uint64_t gen = s.status()["master"]["generation"].get<uint64_t>();
    CommandResult r = s.ctl("reload");
    EXPECT_EQ(r.exit_code, 0) << r.output << m.log();
    EXPECT_NE(r.output.find("generation " + std::to_string(gen + 1) + " is serving"),
              std::string::npos)
        << r.output;
    // Right after the command returns, the new generation is the one serving.
    const Json j = s.status();
    EXPECT_EQ(j["master"]["generation"].get<uint64_t>(), gen + 1);
    EXPECT_EQ(j["master"]["reloads_ok"].get<uint64_t>(), 1u);
    unsigned serving_new = 0;
    for (const auto& w : j["workers"])
        if (w["generation"].get<uint64_t>() == gen + 1 && w["state"] == "serving") ++serving_new;
    EXPECT_EQ(serving_new, 2u) << j.dump(2);
    EXPECT_TRUE(http_get(s.site.port, "/hello.txt").has_value());
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Ctl, BrokenReloadFailsWithFileAndLineAndOldWorkersServe) {
    CtlSite s(2);
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    const Json before = s.status();
    std::vector<pid_t> workers;
    for (const auto& w : before["workers"]) workers.push_back(w["pid"].get<pid_t>());

    s.write_config(2, "lsten = 127.0.0.1:1\n");
    // Also through -c CONFIG: minidctl must find the socket in a config that has errors.
    CommandResult r =
        run_command(std::string(MINIDCTL_BINARY) + " -c " + s.site.config_path + " reload");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("reload failed"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(s.site.config_path + ":6: unknown key 'lsten'"), std::string::npos)
        << r.output;

    auto ok = http_get(s.site.port, "/hello.txt");
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200);
    const Json after = s.status();
    EXPECT_EQ(after["master"]["generation"], before["master"]["generation"]);
    EXPECT_EQ(after["master"]["reloads_failed"].get<uint64_t>(), 1u);
    EXPECT_NE(after["master"]["last_reload_error"].get<std::string>().find("unknown key 'lsten'"),
              std::string::npos);
    std::vector<pid_t> still;
    for (const auto& w : after["workers"]) still.push_back(w["pid"].get<pid_t>());
    EXPECT_EQ(still, workers) << "the same workers keep serving";
    CommandResult table = s.ctl("status");
    EXPECT_NE(table.output.find("last error: " + s.site.config_path + ":6:"), std::string::npos)
        << table.output;
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Ctl, StatusDuringADrainShowsTheOldGenerationDraining) {
    CtlSite s(1);
    // Larger than what loopback socket buffers absorb, so the response is still being written
    // while we look. (No SO_RCVBUF tweak: shrinking it after connect stalls loopback TCP.)
    const size_t size = 48 * 1024 * 1024;
    s.site.dir.write("www/big.bin", std::string(size, 'q'));
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    const uint64_t gen = s.status()["master"]["generation"].get<uint64_t>();

    Client slow(s.site.port);
    ASSERT_TRUE(slow.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    char buf[4096];
    const ssize_t first = ::recv(slow.fd(), buf, sizeof buf, 0);
    ASSERT_GT(first, 0);  // the download has begun
    slow.buffered().append(buf, static_cast<size_t>(first));

    CommandResult r = s.ctl("reload");
    ASSERT_EQ(r.exit_code, 0) << r.output << m.log();
    const Json j = s.status();
    bool old_draining = false, new_serving = false;
    for (const auto& w : j["workers"]) {
        if (w["generation"].get<uint64_t>() == gen && w["state"] == "draining") {
            old_draining = true;
            EXPECT_EQ(w["connections_active"].get<uint64_t>(), 1u) << j.dump(2);
        }
        if (w["generation"].get<uint64_t>() == gen + 1 && w["state"] == "serving")
            new_serving = true;
    }
    EXPECT_TRUE(old_draining) << j.dump(2);
    EXPECT_TRUE(new_serving) << j.dump(2);
    CommandResult table = s.ctl("status");
    EXPECT_NE(table.output.find("1 serving, 1 draining"), std::string::npos) << table.output;
    EXPECT_NE(table.output.find("draining"), std::string::npos);

    // Finish the download: the old worker then exits and leaves the status.
    auto done = slow.read_responses(1, 30s);
    ASSERT_EQ(done.size(), 1u) << slow.buffered().size() << " bytes\n"
                               << slow.buffered().substr(0, 300) << "\n"
                               << m.log();
    EXPECT_EQ(done[0].body.size(), size);
    ::shutdown(slow.fd(), SHUT_RDWR);
    EXPECT_TRUE(eventually([&] { return s.status()["workers"].size() == 1; }));
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Ctl, MetricsIsValidPrometheusText) {
    CtlSite s(2);
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(http_get(s.site.port, "/hello.txt"));
    ASSERT_EQ(s.ctl("reload").exit_code, 0);
    CommandResult r = s.ctl("metrics");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    prometheus::Exposition e;
    EXPECT_EQ(prometheus::parse_exposition(r.output, e), "") << r.output;
    EXPECT_EQ(e.value("minid_reloads_total", {{"result", "ok"}}), 1.0);
    EXPECT_EQ(e.value("minid_generation"), s.status()["master"]["generation"].get<double>());
    EXPECT_EQ(e.value("minid_workers", {{"state", "serving"}}), 2.0);
    for (const auto& sample : e.samples)
        if (sample.name == "minid_requests_total") EXPECT_TRUE(sample.labels.count("worker"));
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Ctl, WorkersChangesTheWorkerCount) {
    CtlSite s(1);
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    CommandResult up = s.ctl("workers 3");
    EXPECT_EQ(up.exit_code, 0) << up.output;
    EXPECT_TRUE(eventually([&] { return children_of(m.pid()).size() == 3; }));
    EXPECT_TRUE(eventually([&] {
        Json j = s.status();
        unsigned serving = 0;
        for (const auto& w : j["workers"]) serving += w["state"] == "serving";
        return serving == 3 && j["master"]["target_workers"] == 3;
    }));
    EXPECT_EQ(s.ctl("workers 1").exit_code, 0);
    EXPECT_TRUE(eventually([&] { return children_of(m.pid()).size() == 1; }));
    CommandResult bad = s.ctl("workers 100000");
    EXPECT_EQ(bad.exit_code, 1) << bad.output;
    EXPECT_NE(bad.output.find("worker count must be between"), std::string::npos) << bad.output;
    EXPECT_EQ(s.ctl("workers nope").exit_code, 2);
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

TEST(Ctl, StopStopsTheDaemonAndWaitsForIt) {
    CtlSite s(2);
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    CommandResult r = s.ctl("stop");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("minid stopped"), std::string::npos);
    // minidctl returned only after minid closed the socket on its way out: the exit is at hand.
    // (Not MinidProcess::running(): it reaps the child and loses the wait status.)
    const int st_exit = m.wait_exit(3s);
    EXPECT_TRUE(WIFEXITED(st_exit) && WEXITSTATUS(st_exit) == 0) << st_exit << "\n" << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
    struct stat st {};
    EXPECT_NE(::stat(s.socket.c_str(), &st), 0) << "the socket file is removed";
    CommandResult after = s.ctl("status");
    EXPECT_EQ(after.exit_code, 3) << after.output;
}

TEST(Ctl, NoDaemonIsExitThree) {
    TempDir dir;
    CommandResult r = run_command(std::string(MINIDCTL_BINARY) + " --control " +
                                  dir.file("none.sock") + " status");
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_NE(r.output.find("minid is not running"), std::string::npos) << r.output;
}

// A unix socket server that answers every connection with nonsense.
class GarbageServer {
  public:
    explicit GarbageServer(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, path.c_str());
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd_, 8);
        thread_ = std::thread([this] {
            while (!stop_) {
                pollfd p{fd_, POLLIN, 0};
                if (::poll(&p, 1, 50) <= 0) continue;
                int c = ::accept(fd_, nullptr, nullptr);
                if (c < 0) continue;
                char buf[512];
                (void)::recv(c, buf, sizeof buf, 0);
                const char reply[] = "220 smtp.example.com ESMTP ready\r\n";
                (void)::send(c, reply, sizeof reply - 1, MSG_NOSIGNAL);
                ::close(c);
            }
        });
    }
    ~GarbageServer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }

  private:
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

TEST(Ctl, GarbageFromTheSocketIsExitFive) {
    TempDir dir;
    GarbageServer g(dir.file("ctl.sock"));
    CommandResult r = run_command(std::string(MINIDCTL_BINARY) + " --control " +
                                  dir.file("ctl.sock") + " status");
    EXPECT_EQ(r.exit_code, 5) << r.output;
    EXPECT_NE(r.output.find("protocol error"), std::string::npos) << r.output;
    CommandResult reload = run_command(std::string(MINIDCTL_BINARY) + " --control " +
                                       dir.file("ctl.sock") + " reload");
    EXPECT_EQ(reload.exit_code, 5) << reload.output;
}

TEST(Ctl, SocketModeAndGroupDecideWhoMayControl) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run minidctl as another user (setpriv)";
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv (util-linux) is missing";
    // Mode 0660, group nogroup: nobody/nogroup may control minid, nobody/other-group may not.
    CtlSite s(1, "control_socket_mode = 0660\ncontrol_socket_group = nogroup\n");
    ::chmod(s.site.dir.path().c_str(), 0755);  // let the unprivileged user reach the socket dir
    MinidProcess m;
    ASSERT_TRUE(start(m, s)) << m.log();
    struct stat st {};
    ASSERT_EQ(::stat(s.socket.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    EXPECT_EQ(st.st_gid, 65534u);

    auto as = [&](const std::string& gid) {
        return run_command("/usr/bin/setpriv --reuid=65534 --regid=" + gid + " --clear-groups " +
                           MINIDCTL_BINARY + " --control " + s.socket + " status");
    };
    CommandResult allowed = as("65534");
    EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
    CommandResult denied = as("1");
    EXPECT_EQ(denied.exit_code, 4) << denied.output;
    EXPECT_NE(denied.output.find("permission denied"), std::string::npos) << denied.output;
    m.signal(SIGTERM);
    expect_clean_exit(m);
}

}  // namespace
}  // namespace minid::test
