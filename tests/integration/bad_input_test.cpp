// Bad input on every surface other than HTTP: config files full of garbage, control-socket
// clients speaking garbage, and LISTEN_FDS naming things that are not listening sockets. Each
// gets a clear error; nothing crashes, hangs or stops serving.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

using Clock = std::chrono::steady_clock;

bool no_crash_signs(const std::string& out) {
    return out.find("Sanitizer") == std::string::npos &&
           out.find("runtime error") == std::string::npos &&
           out.find("terminate called") == std::string::npos;
}

// ---- config files ----

struct ConfigCase {
    const char* name;
    std::function<std::string(TempDir&)> make;  // returns the path to pass to -c
    const char* expect;                         // a substring of the error
};

std::string write_bytes(TempDir& dir, const std::string& rel, const std::string& bytes) {
    dir.write(rel, bytes);
    return dir.file(rel);
}

std::string random_bytes(size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(gen() & 0xff);
    return s;
}

TEST(BadInput, GarbageConfigFilesGetAClearErrorWithTheirLocation) {
    const std::vector<ConfigCase> cases = {
        {"random bytes",
         [](TempDir& d) { return write_bytes(d, "rand.conf", random_bytes(4096, 7)); },
         "rand.conf:"},
        {"NUL bytes", [](TempDir& d) { return write_bytes(d, "nul.conf", std::string(100, '\0')); },
         "nul.conf:1"},
        {"NUL inside a value",
         [](TempDir& d) {
             return write_bytes(d, "nulval.conf",
                                std::string("[http]\nroot = /srv") + '\0' + "/www\n");
         },
         "nulval.conf:2"},
        {"ELF binary", [](TempDir&) { return std::string(MINID_BINARY); }, "minid:"},
        {"unterminated section",
         [](TempDir& d) { return write_bytes(d, "sec.conf", "[server\nworkers = 2\n"); },
         "sec.conf:1"},
        {"invalid UTF-8 key",
         [](TempDir& d) { return write_bytes(d, "utf.conf", "[server]\n\xff\xfe = 1\n"); },
         "utf.conf:2"},
        {"UTF-16 text",
         [](TempDir& d) {
             return write_bytes(d, "utf16.conf",
                                std::string("\xff\xfe[\0s\0e\0r\0v\0e\0r\0]\0\n\0", 20));
         },
         "utf16.conf:1"},
        {"line of 100000 bytes",
         [](TempDir& d) {
             return write_bytes(d, "long.conf",
                                "[http]\nroot = /" + std::string(100000, 'a') + "\n");
         },
         "long.conf:2"},
        {"control characters in a value",
         [](TempDir& d) {
             return write_bytes(d, "ctl.conf", "[http]\nserver_name = a\x01\x1b[31mb\n");
         },
         "ctl.conf:2"},
        {"a directory", [](TempDir& d) { return d.path(); }, "Is a directory"},
        {"/dev/zero (endless)", [](TempDir&) { return std::string("/dev/zero"); }, "/dev/zero"},
        {"4 MiB of text",
         [](TempDir& d) { return write_bytes(d, "big.conf", std::string(4 << 20, '#')); },
         "big.conf"},
        {"missing file", [](TempDir& d) { return d.file("missing.conf"); }, "No such file"},
    };
    TempDir dir;
    for (const ConfigCase& k : cases) {
        SCOPED_TRACE(k.name);
        const std::string path = k.make(dir);
        const auto start = Clock::now();
        const auto r = run_command("timeout 20 " + std::string(MINID_BINARY) +
                                   " --check-config -c '" + path + "'");
        EXPECT_LT(Clock::now() - start, 10s);
        EXPECT_EQ(r.exit_code, 1) << r.output.substr(0, 500);
        EXPECT_NE(r.output.find(k.expect), std::string::npos) << r.output.substr(0, 500);
        EXPECT_TRUE(no_crash_signs(r.output)) << r.output.substr(0, 2000);
        EXPECT_LT(r.output.size(), 64u * 1024) << "the error should be readable, not a dump";
    }
}

// ---- control socket ----

class UnixClient {
  public:
    explicit UnixClient(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path.copy(a.sun_path, sizeof a.sun_path - 1);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~UnixClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    UnixClient(const UnixClient&) = delete;
    UnixClient& operator=(const UnixClient&) = delete;
    bool ok() const { return fd_ >= 0; }
    bool send(const std::string& s) {
        size_t off = 0;
        while (off < s.size()) {
            const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    }
    // Reads until `lines` newline-terminated lines arrived, EOF, or the timeout.
    std::string read_lines(size_t lines, std::chrono::milliseconds timeout, bool* eof) {
        std::string out;
        *eof = false;
        const auto deadline = Clock::now() + timeout;
        size_t seen = 0;
        while (seen < lines) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[65536];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                *eof = true;
                break;
            }
            for (ssize_t i = 0; i < n; ++i) seen += buf[i] == '\n';
            out.append(buf, static_cast<size_t>(n));
        }
        return out;
    }

  private:
    int fd_ = -1;
};

struct ControlCase {
    const char* name;
    std::string bytes;
    const char* expect;  // in the single error line; nullptr: the master may just close
};

TEST(BadInput, ControlSocketGarbageGetsErrorsAndTheMasterCarriesOn) {
    Site site;
    const std::string sock = site.dir.file("ctl.sock");
    site.dir.write("minid.conf", "[server]\nlisten = 127.0.0.1:" + std::to_string(site.port) +
                                     "\nworkers = 1\naccess_log = off\ncontrol_socket = " + sock +
                                     "\n[http]\nroot = " + site.root + "\n");
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    const std::string ctl = std::string(MINIDCTL_BINARY) + " --control " + sock + " --timeout 5 ";
    ASSERT_EQ(run_command(ctl + "status").exit_code, 0) << m.log();

    std::string deep_array = std::string(30000, '[') + std::string(30000, ']') + "\n";
    std::string deep_object;
    for (int i = 0; i < 20000; ++i) deep_object += "{\"a\":";
    deep_object += "1" + std::string(20000, '}') + "\n";
    const std::vector<ControlCase> cases = {
        {"binary", random_bytes(200, 3) + "\n", "not valid JSON"},
        {"NUL bytes", std::string(10, '\0') + "\n", "not valid JSON"},
        {"not JSON", "status please\n", "not valid JSON"},
        // Blank lines are skipped (as between requests); the request after them is answered.
        {"blank lines first", "\n\r\n\n{\"v\":1,\"cmd\":\"nope\"}\n", "unknown command"},
        {"JSON array", "[1,2,3]\n", "must be a JSON object"},
        {"JSON string", "\"status\"\n", "must be a JSON object"},
        {"no version", "{\"cmd\":\"status\"}\n", nullptr},
        {"future version", "{\"v\":999,\"cmd\":\"status\"}\n", nullptr},
        {"version as string", "{\"v\":\"1\",\"cmd\":\"status\"}\n", nullptr},
        {"no command", "{\"v\":1}\n", "missing command"},
        {"command not a string", "{\"v\":1,\"cmd\":7}\n", "missing command"},
        {"unknown command", "{\"v\":1,\"cmd\":\"rm -rf /\"}\n", "unknown command"},
        {"workers negative", "{\"v\":1,\"cmd\":\"workers\",\"count\":-1}\n", "non-negative"},
        {"workers float", "{\"v\":1,\"cmd\":\"workers\",\"count\":1.5}\n", "non-negative"},
        {"workers huge", "{\"v\":1,\"cmd\":\"workers\",\"count\":100000}\n", "between 1 and 256"},
        {"workers over uint", "{\"v\":1,\"cmd\":\"workers\",\"count\":1e30}\n", "non-negative"},
        {"stop with bad fast", "{\"v\":1,\"cmd\":\"stop\",\"fast\":\"yes\"}\n", "true or false"},
        {"lone surrogate", "{\"v\":1,\"cmd\":\"\\udc80\"}\n", "not valid JSON"},
        {"invalid UTF-8 in a string", "{\"v\":1,\"cmd\":\"\xff\xfe\"}\n", "not valid JSON"},
        {"30000 nested arrays", deep_array, "must be a JSON object"},
        {"20000 nested objects", deep_object, nullptr},
        {"line over 64 KiB", std::string(100 * 1024, 'x'), nullptr},
    };
    for (const ControlCase& k : cases) {
        SCOPED_TRACE(k.name);
        UnixClient c(sock);
        ASSERT_TRUE(c.ok());
        c.send(k.bytes);
        bool eof = false;
        const std::string reply = c.read_lines(1, 5s, &eof);
        EXPECT_TRUE(!reply.empty() || eof) << "no answer and no close";
        if (!reply.empty()) {
            EXPECT_EQ(reply.rfind("{\"v\":1,\"ok\":false,\"error\":", 0), 0u) << reply;
            if (k.expect) EXPECT_NE(reply.find(k.expect), std::string::npos) << reply;
        } else {
            EXPECT_EQ(k.expect, nullptr) << "closed without the expected error";
        }
        ASSERT_TRUE(m.running()) << m.log();
    }

    // A flood of pipelined requests is answered in order (or cut), and does not starve others.
    {
        UnixClient flood(sock);
        ASSERT_TRUE(flood.ok());
        std::string many;
        for (int i = 0; i < 2000; ++i) many += "{\"v\":1,\"cmd\":\"status\"}\n";
        flood.send(many);
        EXPECT_EQ(run_command(ctl + "status").exit_code, 0) << m.log();
        bool eof = false;
        const std::string replies = flood.read_lines(2000, 10s, &eof);
        EXPECT_TRUE(eof || replies.find("\"ok\":true") != std::string::npos);
    }
    // A client that connects and says nothing does not block the others.
    UnixClient idle(sock);
    ASSERT_TRUE(idle.ok());
    EXPECT_EQ(run_command(ctl + "status").exit_code, 0) << m.log();

    // HTTP was served throughout.
    auto r = http_get(site.port, "/hello.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    m.signal(SIGTERM);
    const int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << "\n" << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

// ---- LISTEN_FDS ----

// Runs minid with fd 3 (and LISTEN_FDS/LISTEN_PID naming it) made by `make_fd3` in the child.
CommandResult run_with_listen_fds(const std::function<int()>& make_fd3, const std::string& fds,
                                  const std::string& log_path) {
    CommandResult res;
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, 1);
        ::dup2(out, 2);
        // Only the descriptors the case made may be there: nothing inherited from the test.
        const int fd = make_fd3();
        if (fd != 3) {
            if (fd >= 0)
                ::dup2(fd, 3);
            else
                ::close(3);
        }
        ::close_range(4, ~0U, 0);
        ::setenv("LISTEN_FDS", fds.c_str(), 1);
        ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
        ::execl(MINID_BINARY, MINID_BINARY, "--workers", "1", static_cast<char*>(nullptr));
        _exit(127);
    }
    const auto deadline = Clock::now() + 10s;
    int st = 0;
    while (::waitpid(pid, &st, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &st, 0);
            res.output = "timed out: minid kept running\n";
            break;
        }
        std::this_thread::sleep_for(10ms);
    }
    res.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    res.output += read_file(log_path);
    return res;
}

int inet_socket(int type, bool bind_it, bool listen_it) {
    const int fd = ::socket(AF_INET, type, 0);
    if (bind_it) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (listen_it) ::listen(fd, 16);
    return fd;
}

TEST(BadInput, ListenFdsThatAreNotListeningStreamSocketsAreRefused) {
    struct FdCase {
        const char* name;
        std::function<int()> make;
        std::string listen_fds;
        const char* expect;
    };
    const std::vector<FdCase> cases = {
        {"UDP socket", [] { return inet_socket(SOCK_DGRAM, true, false); }, "1",
         "not a listening stream socket"},
        {"TCP socket, bound, not listening", [] { return inet_socket(SOCK_STREAM, true, false); },
         "1", "not a listening stream socket"},
        {"TCP socket, unbound", [] { return inet_socket(SOCK_STREAM, false, false); }, "1",
         "not a listening stream socket"},
        {"unix datagram socket", [] { return ::socket(AF_UNIX, SOCK_DGRAM, 0); }, "1",
         "not a listening stream socket"},
        {"pipe",
         [] {
             int p[2];
             if (::pipe(p) != 0) return -1;
             return p[0];
         },
         "1", "not a listening stream socket"},
        {"/dev/null", [] { return ::open("/dev/null", O_RDONLY); }, "1",
         "not a listening stream socket"},
        {"nothing open at fd 3", [] { return -1; }, "1", "LISTEN_FDS fd 3"},
        {"second fd missing", [] { return inet_socket(SOCK_STREAM, true, true); }, "2",
         "LISTEN_FDS fd 4"},
        {"count not a number", [] { return inet_socket(SOCK_STREAM, true, true); }, "x1",
         "sd_listen_fds"},
    };
    TempDir dir;
    for (const FdCase& k : cases) {
        SCOPED_TRACE(k.name);
        const auto r = run_with_listen_fds(k.make, k.listen_fds, dir.file("log"));
        EXPECT_EQ(r.exit_code, 1) << r.output;
        EXPECT_NE(r.output.find(k.expect), std::string::npos) << r.output;
        EXPECT_TRUE(no_crash_signs(r.output)) << r.output;
    }
}

}  // namespace
}  // namespace minid::test
