// Harness for the reverse-proxy tests with real apps (see proxy_apps_harness.hpp).
#include "integration/proxy_apps_harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace minid::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kApps = std::string(MINID_SOURCE_DIR) + "/tests/apps";

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A blocking connection to HOST:PORT or unix:/path; -1 on failure.
int connect_address(const std::string& address) {
    if (address.rfind("unix:", 0) == 0) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", address.c_str() + 5);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }
    auto colon = address.rfind(':');
    return connect_tcp(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))),
                       address.substr(0, colon).c_str());
}

// One request on `fd` with Connection: close; the response, or nullopt.
std::optional<HttpResponse> exchange_on(int fd, const std::string& request,
                                        std::chrono::milliseconds timeout) {
    if (fd < 0) return std::nullopt;
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        ::close(fd);
        return std::nullopt;
    }
    std::string buf;
    auto deadline = Clock::now() + timeout;
    HttpResponse r;
    for (;;) {
        if (parse_response(buf, r)) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            ::close(fd);
            return std::nullopt;
        }
        char tmp[65536];
        ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) {
            ::close(fd);
            return std::nullopt;
        }
        buf.append(tmp, static_cast<size_t>(n));
    }
    ::close(fd);
    return r;
}

uint64_t rss_kib(pid_t pid) {
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
    return 0;
}

}  // namespace

const char* app_server_name(AppServer kind) {
    switch (kind) {
        case AppServer::gunicorn_sync:
            return "gunicorn-sync";
        case AppServer::gunicorn_gevent:
            return "gunicorn-gevent";
        case AppServer::waitress:
            return "waitress";
    }
    return "?";
}

std::string app_server_missing(AppServer kind) {
    if (::access("/usr/bin/python3", X_OK) != 0) return "/usr/bin/python3 is not installed";
    const char* module = kind == AppServer::waitress          ? "waitress"
                         : kind == AppServer::gunicorn_gevent ? "gunicorn, gevent"
                                                              : "gunicorn";
    const char* package = kind == AppServer::waitress          ? "python3-waitress"
                          : kind == AppServer::gunicorn_gevent ? "gunicorn python3-gevent"
                                                               : "gunicorn";
    if (kind != AppServer::waitress && ::access("/usr/bin/gunicorn", X_OK) != 0)
        return "/usr/bin/gunicorn is missing (apt-get install gunicorn)";
    auto r = run_command(std::string("/usr/bin/python3 -c 'import ") + module + "'");
    if (r.exit_code != 0)
        return std::string("/usr/bin/python3 cannot import ") + module + " (apt-get install " +
               package + "): " + r.output;
    return "";
}

AppProcess::~AppProcess() {
    if (pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        int st;
        ::waitpid(pid_, &st, 0);
    }
}

bool AppProcess::start(AppServer kind, const std::string& address, const std::string& state_dir,
                       const std::string& log_path, int listen_fd,
                       const std::vector<std::string>& extra_args) {
    address_ = address;
    log_path_ = log_path;
    std::vector<std::string> args = {kApps + "/serve.sh", app_server_name(kind), address};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        ::setpgid(0, 0);
        int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(log, 1);
        ::dup2(log, 2);
        ::setenv("APP_STATE_DIR", state_dir.c_str(), 1);
        ::unsetenv("LISTEN_FDS");
        ::unsetenv("LISTEN_PID");
        if (listen_fd >= 0) {
            // serve.sh execs python in this same process, so LISTEN_PID is this pid.
            if (listen_fd != 3) ::dup2(listen_fd, 3);
            ::fcntl(3, F_SETFD, 0);
            ::setenv("LISTEN_FDS", "1", 1);
            ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
        }
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        _exit(127);
    }
    ::setpgid(pid, pid);
    pid_ = pid;
    return true;
}

bool AppProcess::wait_ready(std::chrono::milliseconds timeout) const {
    return eventually(
        [&] {
            int st;
            if (pid_ <= 0 || ::waitpid(pid_, &st, WNOHANG) != 0) return false;
            return app_hello_status(address_) == 200;
        },
        timeout, 50ms);
}

void AppProcess::signal(int signum) const {
    if (pid_ > 0) ::kill(pid_, signum);
}

bool AppProcess::stop(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return true;
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + timeout;
    int st;
    while (Clock::now() < deadline) {
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            ::kill(-pid_, SIGKILL);  // a worker the arbiter left behind
            pid_ = -1;
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return false;
}

std::string AppProcess::log() const {
    return read_file(log_path_);
}

int app_hello_status(const std::string& address) {
    auto r = exchange_on(connect_address(address),
                         "GET /hello HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n", 2s);
    return r ? r->status : 0;
}

int listen_unix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);  // inherited by the app: no CLOEXEC
    if (fd < 0) return -1;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ::unlink(path.c_str());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1024) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

ProxySetup::ProxySetup() {
    port = free_port();
    root = dir.file("www");
    dir.write("www/static.txt", "static file\n");
    state_dir = dir.file("state");
    fs::create_directories(state_dir);
    config_path = dir.file("minid.conf");
    log_path = dir.file("minid.log");
}

void ProxySetup::write_config(const std::vector<std::string>& servers,
                              const std::string& upstream_extra, const std::string& site_extra,
                              int workers, const std::string& server_extra) {
    std::string text =
        "[server]\nlisten = 127.0.0.1:" + std::to_string(port) +
        "\nworkers = " + std::to_string(workers) + "\naccess_log = " + dir.file("access.log") +
        "\ncontrol_socket = off\nlog_level = info\n" + server_extra + "\n\n[upstream app]\n";
    for (const auto& s : servers) text += "server = " + s + "\n";
    text +=
        upstream_extra + "\n\n[site app]\ndefault = on\nroot = " + root + "\n" + site_extra + "\n";
    dir.write("minid.conf", text);
}

std::string ProxySetup::check_config() const {
    auto r = run_command(std::string(MINID_BINARY) + " --check-config -c " + config_path);
    return r.exit_code == 0 ? "" : r.output;
}

std::string ProxySetup::app_stats(const std::string& app_address) const {
    auto r = exchange_on(connect_address(app_address),
                         "GET /stats HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n", 5s);
    return r ? r->body : "";
}

::testing::AssertionResult start_app_and_minid(const ProxySetup& setup, AppProcess& app,
                                               MinidProcess& minid, AppServer kind,
                                               const std::string& app_address, int listen_fd,
                                               const std::vector<std::string>& app_args,
                                               const std::vector<std::string>& minid_env) {
    if (!app.start(kind, app_address, setup.state_dir, setup.dir.file("app.log"), listen_fd,
                   app_args) ||
        !app.wait_ready())
        return ::testing::AssertionFailure()
               << app_server_name(kind) << " does not answer on " << app_address << ":\n"
               << app.log();
    if (!minid.start({"-c", setup.config_path}, setup.log_path, minid_env) ||
        !minid.wait_serving(setup.port))
        return ::testing::AssertionFailure() << "minid does not serve:\n" << minid.log();
    return ::testing::AssertionSuccess();
}

double Latencies::percentile(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

double Latencies::max() const {
    return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end());
}

ProxyLoad::ProxyLoad(uint16_t port, int get_keepalive, int get_fresh, int posters,
                     std::string post_prefix)
    : port_(port),
      keepalive_(get_keepalive),
      fresh_(get_fresh),
      posters_(posters),
      prefix_(std::move(post_prefix)) {}

ProxyLoad::~ProxyLoad() {
    stop();
}

void ProxyLoad::start() {
    for (int i = 0; i < keepalive_; ++i) threads_.emplace_back([this] { run_get(true); });
    for (int i = 0; i < fresh_; ++i) threads_.emplace_back([this] { run_get(false); });
    for (int i = 0; i < posters_; ++i) threads_.emplace_back([this, i] { run_post(i); });
}

void ProxyLoad::stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
}

void ProxyLoad::record(bool ok, bool post, double ms, const std::string& what) {
    std::lock_guard lock(mu_);
    ms_.push_back(ms);
    if (ok) {
        (post ? posts_ok_ : gets_ok_)++;
        return;
    }
    failed_++;
    if (errors_.size() < 10) errors_.push_back(what);
}

void ProxyLoad::run_get(bool keepalive) {
    const std::string req = std::string("GET /hello HTTP/1.1\r\nHost: localhost\r\n") +
                            (keepalive ? "" : "Connection: close\r\n") + "\r\n";
    std::optional<Client> c;
    while (!stop_) {
        if (!c || !keepalive) c.emplace(port_);
        auto t0 = Clock::now();
        if (!c->connected()) {
            record(false, false, ms_since(t0), "GET: connect failed");
            c.reset();
            std::this_thread::sleep_for(10ms);
            continue;
        }
        bool sent = c->send(req);
        auto r = sent ? c->read_responses(1, 15s) : std::vector<HttpResponse>{};
        double ms = ms_since(t0);
        if (r.empty()) {
            record(false, false, ms, "GET /hello: no response (" + std::to_string(ms) + " ms)");
            c.reset();
            continue;
        }
        bool ok = r[0].status == 200 && r[0].body == "Hello, world!";
        record(ok, false, ms,
               "GET /hello: " + r[0].status_line + " after " + std::to_string(ms) + " ms");
        if (r[0].header("connection") == "close") c.reset();
    }
}

void ProxyLoad::run_post(int index) {
    const std::string body(4096, 'b');
    for (uint64_t n = 0; !stop_; ++n) {
        std::string id = prefix_ + std::to_string(index) + "-" + std::to_string(n);
        std::string req = "POST /post?id=" + id +
                          " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                          "Content-Type: application/octet-stream\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
        auto t0 = Clock::now();
        int fd = connect_tcp(port_);
        auto r = exchange_on(fd, req, 15s);
        double ms = ms_since(t0);
        if (!r) {
            record(false, true, ms, "POST " + id + ": no response (" + std::to_string(ms) + " ms)");
            continue;
        }
        bool ok = r->status == 200 && r->body.find("\"id\": \"" + id + "\"") != std::string::npos &&
                  r->body.find("\"body_length\": 4096") != std::string::npos;
        record(ok, true, ms,
               "POST " + id + ": " + r->status_line + " after " + std::to_string(ms) + " ms");
    }
}

Latencies ProxyLoad::latencies() const {
    std::lock_guard lock(mu_);
    return Latencies{ms_};
}

std::string ProxyLoad::summary() const {
    auto l = latencies();
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%llu GET ok, %llu POST ok, %llu failed; p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                  static_cast<unsigned long long>(gets_ok_.load()),
                  static_cast<unsigned long long>(posts_ok_.load()),
                  static_cast<unsigned long long>(failed_.load()), l.percentile(50),
                  l.percentile(99), l.max());
    std::string s = buf;
    std::lock_guard lock(mu_);
    for (const auto& e : errors_) s += "\n  " + e;
    return s;
}

uint64_t tree_rss_kib(pid_t pid) {
    uint64_t sum = rss_kib(pid);
    for (pid_t c : children_of(pid)) sum += rss_kib(c);
    return sum;
}

std::vector<std::string> tree_deleted_files(pid_t pid) {
    std::vector<std::string> out;
    std::vector<pid_t> pids = children_of(pid);
    pids.push_back(pid);
    for (pid_t p : pids) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(p) + "/fd", ec)) {
            std::error_code ec2;
            auto target = fs::read_symlink(e.path(), ec2).string();
            if (!ec2 && target.find(" (deleted)") != std::string::npos &&
                target.rfind("/memfd:", 0) != 0)
                out.push_back(std::to_string(p) + ": " + target);
        }
    }
    return out;
}

SlowClients::SlowClients(uint16_t port, int headers, int uploads, int readers)
    : port_(port), headers_(headers), uploads_(uploads), readers_(readers) {}

SlowClients::~SlowClients() {
    stop();
}

void SlowClients::start() {
    thread_ = std::thread([this] { run(); });
}

void SlowClients::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

std::string SlowClients::summary() const {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "slow clients: %llu connections, %llu exchanges completed, %llu cut by the "
                  "server, %llu bad statuses, readers received %.1f MiB",
                  static_cast<unsigned long long>(connects_.load()),
                  static_cast<unsigned long long>(completed_.load()),
                  static_cast<unsigned long long>(cut_.load()),
                  static_cast<unsigned long long>(bad_status_.load()),
                  static_cast<double>(reader_bytes_.load()) / (1 << 20));
    return buf;
}

void SlowClients::run() {
    enum class Kind { headers, upload, reader };
    struct Conn {
        Kind kind;
        int fd = -1;
        std::string out;   // what is still to send
        size_t piece = 0;  // bytes sent per step
        std::string in;
        size_t expected = 0;  // reader: bytes to receive in all (head and body)
        size_t got = 0;       // reader: bytes received
        Clock::time_point next{};
        uint64_t serial = 0;
    };
    std::vector<Conn> conns;
    for (int i = 0; i < headers_; ++i) conns.push_back({Kind::headers});
    for (int i = 0; i < uploads_; ++i) conns.push_back({Kind::upload});
    for (int i = 0; i < readers_; ++i) conns.push_back({Kind::reader});
    const auto step = 150ms;
    auto close_conn = [](Conn& c) {
        if (c.fd >= 0) ::close(c.fd);
        c.fd = -1;
        c.in.clear();
        c.expected = c.got = 0;
    };
    auto open_conn = [&](Conn& c, size_t index) {
        c.fd = connect_tcp(port_, "127.0.0.1", c.kind == Kind::reader ? 16384 : 0);
        if (c.fd < 0) return;
        ::fcntl(c.fd, F_SETFL, O_NONBLOCK);
        connects_++;
        c.serial++;
        if (c.kind == Kind::headers) {
            // ~20 pieces, one per step: about 3 s for the head.
            c.out =
                "GET /hello HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow-headers\r\n"
                "X-Slow: " +
                std::string(40, 'h') + "\r\nConnection: close\r\n\r\n";
            c.piece = c.out.size() / 20 + 1;
        } else if (c.kind == Kind::upload) {
            std::string id = "slow" + std::to_string(index) + "-" + std::to_string(c.serial);
            std::string head = "POST /post?id=" + id +
                               " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                               "Content-Length: 16384\r\n\r\n";
            ::send(c.fd, head.data(), head.size(), MSG_NOSIGNAL);
            c.out = std::string(16384, 'u');
            c.piece = 1024;  // 16 steps: about 2.5 s
        } else {
            std::string req = "GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            ::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
            c.out.clear();
            c.piece = 0;
        }
    };
    while (!stop_) {
        auto now = Clock::now();
        for (size_t i = 0; i < conns.size() && !stop_; ++i) {
            Conn& c = conns[i];
            if (c.fd < 0) {
                open_conn(c, i);
                c.next = now;
                continue;
            }
            if (now < c.next) continue;
            c.next = now + (c.kind == Kind::reader ? 30ms : step);
            if (!c.out.empty()) {
                size_t n = std::min(c.piece, c.out.size());
                ssize_t w = ::send(c.fd, c.out.data(), n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w < 0 && errno != EAGAIN) {
                    cut_++;
                    close_conn(c);
                    continue;
                }
                if (w > 0) c.out.erase(0, static_cast<size_t>(w));
                continue;
            }
            // Reading: readers take 64 KiB per 30 ms (about 2 MiB/s), the others all there is.
            char buf[65536];
            ssize_t r = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r < 0 && errno == EAGAIN) continue;
            if (r <= 0) {
                HttpResponse resp;
                bool whole = c.kind != Kind::reader && parse_response(c.in, resp) != 0;
                (whole ? completed_ : cut_)++;
                if (whole && resp.status != 200) bad_status_++;
                close_conn(c);
                continue;
            }
            if (c.kind == Kind::reader) {
                // Only the head is kept: the body is counted, not stored.
                reader_bytes_ += static_cast<uint64_t>(r);
                c.got += static_cast<size_t>(r);
                if (!c.expected) {
                    c.in.append(buf, static_cast<size_t>(r));
                    auto end = c.in.find("\r\n\r\n");
                    if (end != std::string::npos) {
                        HttpResponse resp;
                        parse_response(c.in.substr(0, end + 4), resp, true);
                        if (resp.status != 200) bad_status_++;
                        c.expected = end + 4 + std::stoull("0" + resp.header("content-length"));
                        c.in.clear();
                    }
                }
                if (c.expected && c.got >= c.expected) {
                    completed_++;
                    close_conn(c);
                }
            } else {
                c.in.append(buf, static_cast<size_t>(r));
            }
        }
        std::this_thread::sleep_for(5ms);
    }
    for (auto& c : conns) close_conn(c);
}

}  // namespace minid::test
