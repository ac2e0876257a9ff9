// Tests for ControlServer on a real libuv loop with a fake master behind it: the protocol over a
// unix socket in a temp dir, deferred reload answers, hostile clients (garbage, floods, idlers,
// vanishing mid-reload), and the socket file's permissions and cleanup. Every test ends with
// uv_loop_close() == 0, so no handle leaks.
#include "daemon/control_server.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "common/control_protocol.hpp"
#include "common/unique_fd.hpp"
#include "daemon/control_backend.hpp"

namespace minid {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

class FakeBackend final : public ControlBackend {
  public:
    FakeBackend() : stats_(StatsSegment::create().value()) {
        info_.pid = ::getpid();
        info_.generation = 1;
        info_.target_workers = 1;
        info_.listeners = {"127.0.0.1:8080"};
        info_.workers = {{::getpid(), 0, 1, WorkerState::serving, unix_ms()}};
        stats_.slot(0).pid = static_cast<uint64_t>(::getpid());
        stats_.slot(0).state = static_cast<uint64_t>(WorkerState::serving);
        stats_.slot(0).requests = 42;
    }
    Master::Info info() const override { return info_; }
    const StatsSegment& stats() const override { return stats_; }
    void reload(Master::ReloadDone done) override { pending_reloads.push_back(std::move(done)); }
    void stop(bool fast) override { stops.push_back(fast); }
    void reopen_logs() override { ++reopens; }
    Status set_workers(unsigned count) override {
        if (count > 10) return make_error("worker count must be between 1 and 10");
        workers = count;
        return {};
    }
    // Finishes the oldest pending reload.
    void finish_reload(const Status& result) {
        auto done = std::move(pending_reloads.front());
        pending_reloads.erase(pending_reloads.begin());
        if (result) ++info_.generation;
        done(result);
    }

    Master::Info info_{};
    StatsSegment stats_;
    std::vector<Master::ReloadDone> pending_reloads;
    std::vector<bool> stops;
    int reopens = 0;
    unsigned workers = 0;
};

class ControlServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        std::string tmpl = (fs::temp_directory_path() / "minid-ctl-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        options_.path = dir_ + "/run/sub/control.sock";
        options_.idle_timeout_ms = 2000;
    }
    void TearDown() override {
        if (server_) server_->close();
        server_.reset();
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a uv handle leaked";
        fs::remove_all(dir_);
    }

    void start() {
        auto s = ControlServer::create(&loop_, backend_, options_);
        ASSERT_TRUE(s.ok()) << s.error();
        server_ = std::move(s).value();
    }

    // Turns the loop until `pred` holds (or 5 s pass).
    bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            uv_run(&loop_, UV_RUN_NOWAIT);
            if (pred()) return true;
            std::this_thread::sleep_for(1ms);
        }
        return pred();
    }
    void run_for(std::chrono::milliseconds span) {
        run_until([] { return false; }, span);
    }

    UniqueFd connect_client() {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, options_.path.c_str());
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
        return fd;
    }

    static void send_all(int fd, const std::string& data) {
        size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            ASSERT_GT(n, 0) << std::strerror(errno);
            off += static_cast<size_t>(n);
        }
    }

    // Reads whatever arrived without blocking; false on EOF.
    static bool drain(int fd, std::string& buf) {
        char tmp[65536];
        for (;;) {
            ssize_t n = ::recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
            if (n > 0) {
                buf.append(tmp, static_cast<size_t>(n));
                continue;
            }
            return !(n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK));
        }
    }

    // The next answer line on `fd`, turning the loop meanwhile ("" on timeout/EOF).
    std::string read_answer(int fd, std::chrono::milliseconds timeout = 5s) {
        std::string& buf = pending_[fd];
        run_until(
            [&] {
                drain(fd, buf);
                return buf.find('\n') != std::string::npos;
            },
            timeout);
        auto nl = buf.find('\n');
        if (nl == std::string::npos) return "";
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return line;
    }
    control::Response answer(int fd) {
        std::string line = read_answer(fd);
        auto r = control::decode_response(line);
        EXPECT_TRUE(r.ok()) << "not a protocol answer: '" << line << "'";
        return r.ok() ? std::move(r).value() : control::Response{};
    }
    bool sees_eof(int fd, std::chrono::milliseconds timeout = 5s) {
        std::string& buf = pending_[fd];
        return run_until([&] { return !drain(fd, buf); }, timeout);
    }
    std::string request(control::Command cmd) {
        control::Request r;
        r.cmd = cmd;
        return control::encode_request(r);
    }

    uv_loop_t loop_{};
    std::string dir_;
    ControlServerOptions options_;
    FakeBackend backend_;
    std::unique_ptr<ControlServer> server_;
    std::map<int, std::string> pending_;
};

TEST_F(ControlServerTest, StatusAnswersWithTheDocumentedSchema) {
    start();
    UniqueFd c = connect_client();
    ASSERT_TRUE(c);
    send_all(c.get(), request(control::Command::status));
    control::Response r = answer(c.get());
    ASSERT_TRUE(r.ok) << r.error;
    auto status = control::status_from_json(r.body);
    ASSERT_TRUE(status.ok()) << status.error() << "\n" << r.body.dump();
    EXPECT_EQ(status->master.pid, ::getpid());
    ASSERT_EQ(status->workers.size(), 1u);
    EXPECT_EQ(status->workers[0].requests, 42u);
    EXPECT_EQ(status->workers[0].state, "serving");
    EXPECT_TRUE(status->workers[0].rss_bytes.has_value());
}

TEST_F(ControlServerTest, GarbageGetsAnErrorAndTheConnectionStaysUsable) {
    start();
    UniqueFd c = connect_client();
    send_all(c.get(), "hello there\n");
    control::Response bad = answer(c.get());
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.error.find("not valid JSON"), std::string::npos) << bad.error;
    send_all(c.get(), "{\"v\":1,\"cmd\":\"explode\"}\n");
    EXPECT_NE(answer(c.get()).error.find("unknown command"), std::string::npos);
    send_all(c.get(), request(control::Command::reopen));
    EXPECT_TRUE(answer(c.get()).ok);
    EXPECT_EQ(backend_.reopens, 1);
}

TEST_F(ControlServerTest, VersionMismatchNamesBothVersions) {
    start();
    UniqueFd c = connect_client();
    send_all(c.get(), "{\"v\":7,\"cmd\":\"status\"}\n");
    control::Response r = answer(c.get());
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("version 7"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("version 1"), std::string::npos) << r.error;
}

TEST_F(ControlServerTest, PipelinedRequestsAreAnsweredInOrder) {
    start();
    UniqueFd c = connect_client();
    control::Request w;
    w.cmd = control::Command::workers;
    w.count = 3;
    send_all(c.get(), request(control::Command::reopen) + "nonsense\n" +
                          control::encode_request(w) + "\n\n" + request(control::Command::metrics));
    EXPECT_TRUE(answer(c.get()).ok);
    EXPECT_FALSE(answer(c.get()).ok);
    control::Response workers = answer(c.get());
    EXPECT_TRUE(workers.ok) << workers.error;
    EXPECT_EQ(backend_.workers, 3u);
    control::Response metrics = answer(c.get());
    ASSERT_TRUE(metrics.ok);
    EXPECT_EQ(metrics.body["text"].get<std::string>().rfind("# HELP ", 0), 0u);
}

TEST_F(ControlServerTest, WorkersErrorFromTheMasterIsPassedOn) {
    start();
    UniqueFd c = connect_client();
    control::Request w;
    w.cmd = control::Command::workers;
    w.count = 50;
    send_all(c.get(), control::encode_request(w));
    control::Response r = answer(c.get());
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "worker count must be between 1 and 10");
}

TEST_F(ControlServerTest, ReloadIsAnsweredWhenItHasFinished) {
    start();
    UniqueFd c = connect_client();
    send_all(c.get(), request(control::Command::reload));
    ASSERT_TRUE(run_until([&] { return backend_.pending_reloads.size() == 1; }));
    EXPECT_EQ(read_answer(c.get(), 200ms), "") << "no answer before the reload ends";
    backend_.finish_reload({});
    control::Response ok = answer(c.get());
    ASSERT_TRUE(ok.ok) << ok.error;
    EXPECT_EQ(ok.body["generation"].get<uint64_t>(), 2u);

    send_all(c.get(), request(control::Command::reload));
    ASSERT_TRUE(run_until([&] { return backend_.pending_reloads.size() == 1; }));
    backend_.finish_reload(make_error("minid.conf:3: unknown key 'lsten'"));
    control::Response failed = answer(c.get());
    EXPECT_FALSE(failed.ok);
    EXPECT_EQ(failed.error, "minid.conf:3: unknown key 'lsten'");
}

TEST_F(ControlServerTest, ReloadAnsweredSynchronouslyWorks) {
    // A backend that answers inside reload() (as the master does while stopping).
    struct Sync final : public ControlBackend {
        FakeBackend& inner;
        explicit Sync(FakeBackend& b) : inner(b) {}
        Master::Info info() const override { return inner.info(); }
        const StatsSegment& stats() const override { return inner.stats(); }
        void reload(Master::ReloadDone done) override { done(make_error("minid is stopping")); }
        void stop(bool) override {}
        void reopen_logs() override {}
        Status set_workers(unsigned) override { return {}; }
    } sync(backend_);
    auto s = ControlServer::create(&loop_, sync, options_);
    ASSERT_TRUE(s.ok()) << s.error();
    server_ = std::move(s).value();
    UniqueFd c = connect_client();
    send_all(c.get(), request(control::Command::reload) + request(control::Command::reload));
    EXPECT_EQ(answer(c.get()).error, "minid is stopping");
    EXPECT_EQ(answer(c.get()).error, "minid is stopping");
    server_->close();
    server_.reset();
}

TEST_F(ControlServerTest, ClientLeavingDuringAReloadDoesNotHurtTheMaster) {
    start();
    {
        UniqueFd c = connect_client();
        send_all(c.get(), request(control::Command::reload));
        ASSERT_TRUE(run_until([&] { return backend_.pending_reloads.size() == 1; }));
    }  // the client is gone before the reload ends
    run_for(50ms);
    backend_.finish_reload({});
    EXPECT_TRUE(run_until([&] { return server_->client_count() == 0; }));

    // And when the server itself is closed while a reload is pending (the master stopping).
    UniqueFd c2 = connect_client();
    send_all(c2.get(), request(control::Command::reload));
    ASSERT_TRUE(run_until([&] { return backend_.pending_reloads.size() == 1; }));
    server_->close();
    server_.reset();
    backend_.finish_reload(make_error("minid is stopping"));  // must not touch a freed client
    EXPECT_TRUE(sees_eof(c2.get()));
}

TEST_F(ControlServerTest, HalfClosedClientStillGetsItsAnswers) {
    start();
    UniqueFd c = connect_client();
    // printf '{"v":1,"cmd":"status"}' | nc -U: no newline, then EOF.
    std::string line = request(control::Command::status);
    line.pop_back();
    send_all(c.get(), line);
    ::shutdown(c.get(), SHUT_WR);
    EXPECT_TRUE(answer(c.get()).ok);
    EXPECT_TRUE(sees_eof(c.get()));
    EXPECT_TRUE(run_until([&] { return server_->client_count() == 0; }));
}

TEST_F(ControlServerTest, IdleClientIsDisconnected) {
    options_.idle_timeout_ms = 100;
    start();
    UniqueFd c = connect_client();
    send_all(c.get(), "{\"v\":1,");  // never finished
    control::Response r = answer(c.get());
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("no complete request"), std::string::npos) << r.error;
    EXPECT_TRUE(sees_eof(c.get()));
    EXPECT_TRUE(run_until([&] { return server_->client_count() == 0; }));
}

TEST_F(ControlServerTest, OverlongRequestIsRefusedAndCut) {
    options_.max_request_bytes = 1024;
    start();
    UniqueFd c = connect_client();
    send_all(c.get(), std::string(4096, 'x'));
    control::Response r = answer(c.get());
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("longer than 1024"), std::string::npos) << r.error;
    EXPECT_TRUE(sees_eof(c.get()));
}

TEST_F(ControlServerTest, ClientThatNeverReadsIsCut) {
    options_.idle_timeout_ms = 300;
    // A big status answer: hundreds of workers.
    for (int i = 1; i < 400; ++i)
        backend_.info_.workers.push_back({100000 + i, i, 1, WorkerState::serving, unix_ms()});
    start();
    UniqueFd c = connect_client();
    std::string many;
    for (int i = 0; i < 200; ++i) many += request(control::Command::status);
    send_all(c.get(), many);
    EXPECT_TRUE(run_until([&] { return server_->client_count() == 0; }))
        << "a client that never reads must not stay forever";
}

TEST_F(ControlServerTest, ManyClientsAtOnce) {
    start();
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 60; ++i) {
        clients.push_back(connect_client());
        ASSERT_TRUE(clients.back()) << i;
    }
    for (auto& c : clients) send_all(c.get(), request(control::Command::status));
    for (auto& c : clients) EXPECT_TRUE(answer(c.get()).ok);
    EXPECT_EQ(server_->client_count(), 60u);
}

TEST_F(ControlServerTest, ClientsBeyondTheLimitAreTurnedAway) {
    options_.max_clients = 2;
    start();
    UniqueFd a = connect_client(), b = connect_client();
    ASSERT_TRUE(run_until([&] { return server_->client_count() == 2; }));
    UniqueFd extra = connect_client();
    control::Response r = answer(extra.get());
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("too many"), std::string::npos);
    EXPECT_TRUE(r.busy) << "marked as safe to retry";
    EXPECT_TRUE(sees_eof(extra.get()));
    send_all(a.get(), request(control::Command::status));
    EXPECT_TRUE(answer(a.get()).ok);
}

TEST_F(ControlServerTest, StopIsAnsweredThenHeldUntilTheServerCloses) {
    options_.idle_timeout_ms = 100;
    start();
    UniqueFd c = connect_client();
    control::Request stop;
    stop.cmd = control::Command::stop;
    stop.fast = true;
    send_all(c.get(), control::encode_request(stop));
    control::Response r = answer(c.get());
    EXPECT_TRUE(r.ok) << r.error;
    ASSERT_EQ(backend_.stops.size(), 1u);
    EXPECT_TRUE(backend_.stops[0]);
    EXPECT_FALSE(sees_eof(c.get(), 400ms)) << "held open past the idle timeout";
    server_->close();
    EXPECT_TRUE(sees_eof(c.get()));
}

TEST_F(ControlServerTest, SocketFileGetsTheConfiguredModeWhateverTheUmask) {
    options_.mode = 0660;
    const mode_t old = ::umask(0);
    start();
    ::umask(old);
    struct stat st {};
    ASSERT_EQ(::stat(options_.path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    struct stat dir {};
    ASSERT_EQ(::stat(fs::path(options_.path).parent_path().c_str(), &dir), 0);
    EXPECT_EQ(dir.st_mode & 07777, 0755u) << "created parent directory";
}

TEST_F(ControlServerTest, GroupIsApplied) {
    options_.group = std::to_string(::getgid() == 0 ? 1 : ::getgid());
    start();
    struct stat st {};
    ASSERT_EQ(::stat(options_.path.c_str(), &st), 0);
    EXPECT_EQ(std::to_string(st.st_gid), options_.group);
}

TEST_F(ControlServerTest, UnknownGroupIsAClearError) {
    options_.group = "no-such-group-minid";
    auto s = ControlServer::create(&loop_, backend_, options_);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().find("no such group 'no-such-group-minid'"), std::string::npos)
        << s.error();
    EXPECT_FALSE(fs::exists(options_.path)) << "no socket file left behind";
}

TEST_F(ControlServerTest, StaleSocketIsReplaced) {
    fs::create_directories(fs::path(options_.path).parent_path());
    {
        // Bound but not listening, then closed: what a crashed master leaves behind.
        UniqueFd s(::socket(AF_UNIX, SOCK_STREAM, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, options_.path.c_str());
        ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    }
    ASSERT_TRUE(fs::exists(options_.path));
    start();
    UniqueFd c = connect_client();
    send_all(c.get(), request(control::Command::status));
    EXPECT_TRUE(answer(c.get()).ok);
}

TEST_F(ControlServerTest, RefusesASocketSomeoneListensOn) {
    start();
    auto second = ControlServer::create(&loop_, backend_, options_);
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.error().find("listens on"), std::string::npos) << second.error();
    // The first one still works and still owns its file.
    UniqueFd c = connect_client();
    send_all(c.get(), request(control::Command::status));
    EXPECT_TRUE(answer(c.get()).ok);
}

TEST_F(ControlServerTest, RefusesToReplaceANonSocket) {
    fs::create_directories(fs::path(options_.path).parent_path());
    { std::ofstream(options_.path) << "precious"; }
    auto s = ControlServer::create(&loop_, backend_, options_);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().find("is not a socket"), std::string::npos) << s.error();
    EXPECT_TRUE(fs::is_regular_file(options_.path));
}

TEST_F(ControlServerTest, CloseRemovesOnlyItsOwnSocketFile) {
    start();
    server_->close();
    EXPECT_FALSE(fs::exists(options_.path));

    server_.reset();
    start();
    // A successor replaced the file (e.g. a second master after a botched restart).
    fs::remove(options_.path);
    { std::ofstream(options_.path) << "not ours"; }
    server_->close();
    EXPECT_TRUE(fs::exists(options_.path));
}

}  // namespace
}  // namespace minid
