// Tests for minidctl's commands against a scripted fake master on a unix socket (a thread):
// what each command prints and which exit code each kind of outcome gives.
#include "ctl/commands.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <thread>

#include "common/control_protocol.hpp"
#include "common/unique_fd.hpp"

namespace minid::ctl {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// What the fake master does with the request line it got.
struct Script {
    std::string answer;        // sent back as is
    bool hold_open = false;    // keep the connection open afterwards (until the test ends)
    int busy_first = 0;        // turn this many connections away first, as a full master does
    std::string request_seen;  // filled in
    int connections = 0;       // filled in
};

class FakeMaster {
  public:
    explicit FakeMaster(Script& script) : script_(script) {
        std::string tmpl = (fs::temp_directory_path() / "minidctl-test-XXXXXX").string();
        dir_ = ::mkdtemp(tmpl.data());
        path_ = dir_ + "/ctl.sock";
        listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, path_.c_str());
        EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listener_.get(), 4), 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeMaster() {
        done_ = true;
        thread_.join();
        fs::remove_all(dir_);
    }
    const std::string& path() const { return path_; }

  private:
    void serve() {
        for (;;) {
            pollfd p{listener_.get(), POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) return;
            UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (++script_.connections <= script_.busy_first) {
                // Answer without reading the request, then close: what a full master does.
                const std::string busy = control::encode_busy("too many control connections");
                ::send(c.get(), busy.data(), busy.size(), MSG_NOSIGNAL);
                continue;
            }
            std::string line;
            char ch;
            while (::recv(c.get(), &ch, 1, 0) == 1 && ch != '\n') line += ch;
            script_.request_seen = line;
            if (!script_.answer.empty())
                ::send(c.get(), script_.answer.data(), script_.answer.size(), MSG_NOSIGNAL);
            while (script_.hold_open && !done_) std::this_thread::sleep_for(5ms);
            return;
        }
    }

    Script& script_;
    std::string dir_, path_;
    UniqueFd listener_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

struct Outcome {
    int code;
    std::string out, err;
};

Outcome run(const std::string& path, control::Command cmd,
            const std::function<void(CtlOptions&)>& tweak = nullptr) {
    CtlOptions o;
    o.control_path = path;
    o.command = cmd;
    if (tweak) tweak(o);
    std::ostringstream out, err;
    const int code = run_ctl_command(o, out, err);
    return {code, out.str(), err.str()};
}

control::StatusSnapshot status() {
    control::StatusSnapshot s;
    s.master.pid = 77;
    s.master.version = "0.1.0";
    s.master.generation = 5;
    control::WorkerStatus w;
    w.pid = 78;
    w.generation = 5;
    w.state = "serving";
    w.requests = 31337;
    s.workers = {w};
    s.totals = control::compute_totals(s.workers);
    return s;
}

TEST(CtlCommands, StatusPrintsTheTable) {
    Script script{control::encode_ok(control::status_to_json(status()))};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::status);
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(script.request_seen, R"({"v":1,"cmd":"status"})");
    EXPECT_NE(r.out.find("master pid 77"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("31337"), std::string::npos) << r.out;
}

TEST(CtlCommands, StatusJsonIsTheSchema) {
    Script script{control::encode_ok(control::status_to_json(status()))};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::status, [](CtlOptions& o) { o.json = true; });
    ASSERT_EQ(r.code, kExitOk) << r.err;
    auto j = control::Json::parse(r.out);
    EXPECT_EQ(j["v"], 1);
    EXPECT_FALSE(j.contains("ok"));
    auto back = control::status_from_json(j);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(*back, status());
}

TEST(CtlCommands, ReloadSuccessAndFailure) {
    {
        Script script{control::encode_ok({{"generation", 6}})};
        FakeMaster m(script);
        Outcome r = run(m.path(), control::Command::reload);
        EXPECT_EQ(r.code, kExitOk) << r.err;
        EXPECT_EQ(r.out, "reload complete: generation 6 is serving\n");
    }
    {
        Script script{control::encode_error("/etc/minid/minid.conf:3: unknown key 'lsten'")};
        FakeMaster m(script);
        Outcome r = run(m.path(), control::Command::reload);
        EXPECT_EQ(r.code, kExitFailed);
        EXPECT_NE(r.err.find("reload failed"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("/etc/minid/minid.conf:3: unknown key 'lsten'"), std::string::npos)
            << r.err;
    }
}

TEST(CtlCommands, WorkersSendsTheCount) {
    Script script{control::encode_ok({{"workers", 3}})};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::workers, [](CtlOptions& o) { o.workers = 3; });
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(script.request_seen, R"({"v":1,"cmd":"workers","count":3})");
}

TEST(CtlCommands, MetricsPrintsTheText) {
    Script script{control::encode_ok({{"text", "# HELP a b\n# TYPE a gauge\na 1\n"}})};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::metrics);
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_EQ(r.out, "# HELP a b\n# TYPE a gauge\na 1\n");
}

TEST(CtlCommands, StopWaitsForTheConnectionToClose) {
    Script script{control::encode_ok({{"stopping", true}})};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::stop, [](CtlOptions& o) { o.fast = true; });
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(r.out, "minid stopped\n");
    EXPECT_EQ(script.request_seen, R"({"v":1,"cmd":"stop","fast":true})");
}

TEST(CtlCommands, StopThatNeverFinishesTimesOut) {
    Script script{control::encode_ok({{"stopping", true}}), true};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::stop, [](CtlOptions& o) { o.timeout = 300ms; });
    EXPECT_EQ(r.code, kExitTimeout) << r.err;
    Outcome nowait = [&] {
        Script s2{control::encode_ok({{"stopping", true}}), true};
        FakeMaster m2(s2);
        return run(m2.path(), control::Command::stop, [](CtlOptions& o) { o.no_wait = true; });
    }();
    EXPECT_EQ(nowait.code, kExitOk) << nowait.err;
    EXPECT_EQ(nowait.out, "minid is stopping\n");
}

TEST(CtlCommands, GarbageIsAProtocolError) {
    Script script{"SSH-2.0-OpenSSH_9.2\r\n"};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::status);
    EXPECT_EQ(r.code, kExitProtocol);
    EXPECT_NE(r.err.find("protocol error"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("SSH-2.0"), std::string::npos) << "shows what it got: " << r.err;
}

TEST(CtlCommands, OtherProtocolVersionIsAProtocolError) {
    Script script{"{\"v\":2,\"ok\":true}\n"};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::status);
    EXPECT_EQ(r.code, kExitProtocol);
    EXPECT_NE(r.err.find("minid speaks control protocol version 2"), std::string::npos) << r.err;
}

TEST(CtlCommands, MalformedStatusIsAProtocolError) {
    Script script{control::encode_ok({{"master", 1}})};
    FakeMaster m(script);
    EXPECT_EQ(run(m.path(), control::Command::status).code, kExitProtocol);
}

TEST(CtlCommands, HangUpWithoutAnswerIsAProtocolError) {
    Script script{""};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::status);
    EXPECT_EQ(r.code, kExitProtocol);
    EXPECT_NE(r.err.find("without answering"), std::string::npos) << r.err;
}

TEST(CtlCommands, SilentMasterTimesOut) {
    Script script{"", true};
    FakeMaster m(script);
    const auto t0 = std::chrono::steady_clock::now();
    Outcome r = run(m.path(), control::Command::reload, [](CtlOptions& o) { o.timeout = 300ms; });
    EXPECT_EQ(r.code, kExitTimeout) << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
}

TEST(CtlCommands, NoMinidIsNotRunning) {
    Outcome r = run("/nonexistent-minid-dir/ctl.sock", control::Command::status);
    EXPECT_EQ(r.code, kExitNotRunning);
    EXPECT_NE(r.err.find("minid is not running"), std::string::npos) << r.err;

    // A socket file nobody listens on (a master that died).
    std::string tmpl = (fs::temp_directory_path() / "minidctl-stale-XXXXXX").string();
    const std::string dir = ::mkdtemp(tmpl.data());
    {
        UniqueFd s(::socket(AF_UNIX, SOCK_STREAM, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, (dir + "/ctl.sock").c_str());
        ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    }
    Outcome stale = run(dir + "/ctl.sock", control::Command::status);
    EXPECT_EQ(stale.code, kExitNotRunning);
    EXPECT_NE(stale.err.find("nothing accepts connections"), std::string::npos) << stale.err;
    fs::remove_all(dir);
}

TEST(CtlCommands, BusyMasterIsAskedAgain) {
    Script script{control::encode_ok({{"generation", 9}})};
    script.busy_first = 3;
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::reload);
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(script.connections, 4);
    EXPECT_EQ(script.request_seen, R"({"v":1,"cmd":"reload"})");
}

TEST(CtlCommands, MasterBusyUntilTheDeadlineIsExitOne) {
    Script script{control::encode_ok()};
    script.busy_first = 1000;
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::status, [](CtlOptions& o) { o.timeout = 400ms; });
    EXPECT_EQ(r.code, kExitFailed) << r.err;
    EXPECT_NE(r.err.find("too many control connections"), std::string::npos) << r.err;
    EXPECT_GE(script.connections, 2);
}

TEST(CtlCommands, CommandErrorIsExitOne) {
    Script script{control::encode_error("worker count must be between 1 and 256")};
    FakeMaster m(script);
    Outcome r = run(m.path(), control::Command::workers, [](CtlOptions& o) { o.workers = 999; });
    EXPECT_EQ(r.code, kExitFailed);
    EXPECT_EQ(r.err, "minidctl: workers: worker count must be between 1 and 256\n");
}

}  // namespace
}  // namespace minid::ctl
