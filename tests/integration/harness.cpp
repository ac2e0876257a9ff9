// Integration-test harness implementation.
#include "integration/harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace minid::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "minid-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p) path_ = p;
}

TempDir::~TempDir() {
    std::error_code ec;
    if (!path_.empty()) {
        // Restore permissions a test may have removed, so cleanup succeeds.
        for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it);
             it.increment(ec))
            ::chmod(it->path().c_str(), 0755);
        fs::remove_all(path_, ec);
    }
}

void TempDir::write(const std::string& rel, const std::string& content) const {
    fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

std::string HttpResponse::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
}

size_t parse_response(const std::string& data, HttpResponse& out, bool head_only) {
    size_t end = data.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    out = HttpResponse{};
    std::istringstream head(data.substr(0, end));
    std::string line;
    std::getline(head, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.status_line = line;
    if (line.size() >= 12) out.status = std::atoi(line.c_str() + 9);
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        auto& slot = out.headers[name];
        slot = slot.empty() ? value : slot + ", " + value;
    }
    size_t body_start = end + 4;
    size_t length = 0;
    const bool no_body =
        head_only || out.status == 304 || out.status == 204 || out.status / 100 == 1;
    if (!no_body && out.has("content-length")) length = std::stoull(out.header("content-length"));
    if (data.size() < body_start + length) return 0;
    out.body = data.substr(body_start, length);
    return body_start + length;
}

int connect_tcp(uint16_t port, const char* host, int rcvbuf) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

Client::Client(uint16_t port, const char* host) : fd_(connect_tcp(port, host)) {}

Client::~Client() {
    if (fd_ >= 0) ::close(fd_);
}

bool Client::send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

namespace {
// Reads what is available within `left`; returns false on EOF/error/timeout.
bool read_some(int fd, std::string& buf, std::chrono::milliseconds left) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
    if (r <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
}
}  // namespace

std::vector<HttpResponse> Client::read_responses(size_t n, std::chrono::milliseconds timeout,
                                                 bool head_only) {
    std::vector<HttpResponse> out;
    auto deadline = Clock::now() + timeout;
    for (;;) {
        while (out.size() < n) {
            HttpResponse r;
            size_t used = parse_response(buf_, r, head_only);
            if (!used) break;
            buf_.erase(0, used);
            out.push_back(std::move(r));
        }
        if (out.size() >= n) return out;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || !read_some(fd_, buf_, left)) return out;
    }
}

bool Client::read_until_close(std::string& out, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            out = buf_;
            return false;
        }
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char tmp[65536];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n <= 0) {
            out = buf_;
            return true;
        }
        buf_.append(tmp, static_cast<size_t>(n));
    }
}

bool Client::closed_by_peer(std::chrono::milliseconds timeout) {
    std::string ignored;
    return read_until_close(ignored, timeout);
}

std::optional<HttpResponse> http_get(uint16_t port, const std::string& target,
                                     const std::string& extra_headers, const std::string& method) {
    Client c(port);
    if (!c.connected()) return std::nullopt;
    if (!c.send(method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers +
                "Connection: close\r\n\r\n"))
        return std::nullopt;
    auto r = c.read_responses(1, 5s, method == "HEAD");
    if (r.empty()) return std::nullopt;
    return r[0];
}

CommandResult run_command(const std::string& shell_command) {
    CommandResult res;
    std::string cmd = shell_command + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return res;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) res.output.append(buf, n);
    int st = ::pclose(p);
    res.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return res;
}

MinidProcess::~MinidProcess() {
    if (pid_ > 0 && running()) {
        ::kill(pid_, SIGKILL);
        int st;
        ::waitpid(pid_, &st, 0);
    }
    // Workers of a killed master notice the EOF on their link and exit; make sure nothing
    // of ours survives a failed test.
    if (pid_ > 0) ::kill(-pid_, SIGKILL);
}

bool MinidProcess::start(const std::vector<std::string>& args, const std::string& log_path,
                         const std::vector<std::string>& extra_env, const std::string& program) {
    log_path_ = log_path;
    std::vector<std::string> argv_s = {program};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        ::setpgid(0, 0);
        int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        _exit(127);
    }
    ::setpgid(pid, pid);
    pid_ = pid;
    return true;
}

bool MinidProcess::wait_serving(uint16_t port, std::chrono::milliseconds timeout) {
    return eventually(
        [&] {
            if (!running()) return false;
            auto r = http_get(port, "/__minid_probe__");
            return r.has_value() && r->status != 0;
        },
        timeout, 20ms);
}

void MinidProcess::signal(int signum) const {
    if (pid_ > 0) ::kill(pid_, signum);
}

int MinidProcess::wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            pid_ = -pid_;  // reaped; keep the group id for cleanup
            return st;
        }
        std::this_thread::sleep_for(10ms);
    }
    return -1;
}

bool MinidProcess::running() const {
    if (pid_ <= 0) return false;
    int st;
    return ::waitpid(pid_, &st, WNOHANG) == 0;
}

std::string MinidProcess::log() const {
    return read_file(log_path_);
}

std::vector<std::string> MinidProcess::bad_log_lines() const {
    std::vector<std::string> bad;
    std::istringstream in(log());
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("ERROR: AddressSanitizer") != std::string::npos ||
            line.find("runtime error:") != std::string::npos ||
            line.find("LeakSanitizer") != std::string::npos ||
            line.find("uv_loop_close") != std::string::npos || line.rfind("<0>", 0) == 0 ||
            line.rfind("<1>", 0) == 0 || line.rfind("<2>", 0) == 0)
            bad.push_back(line);
    }
    return bad;
}

std::string exe_of(pid_t pid) {
    char buf[4096];
    ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
        std::string stat = read_file(std::string("/proc/") + e->d_name + "/stat");
        auto close_paren = stat.rfind(')');
        if (close_paren == std::string::npos) continue;
        char state = 0;
        int ppid = 0;
        if (std::sscanf(stat.c_str() + close_paren + 1, " %c %d", &state, &ppid) != 2) continue;
        if (ppid == parent && state != 'Z') out.push_back(std::atoi(e->d_name));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(step);
    }
    return pred();
}

bool process_alive(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return false;
    auto close_paren = stat.rfind(')');
    return close_paren != std::string::npos && stat[close_paren + 2] != 'Z';
}

Site::Site(const std::string& extra_server, const std::string& extra_http, int workers) {
    port = free_port();
    root = dir.file("www");
    dir.write("www/index.html", "<h1>hello</h1>\n");
    dir.write("www/hello.txt", "Hello, world!");
    config_path = dir.file("minid.conf");
    log_path = dir.file("minid.log");
    write_config(extra_server, extra_http, workers);
}

void Site::write_config(const std::string& extra_server, const std::string& extra_http,
                        int workers) {
    dir.write("minid.conf", "[server]\nlisten = 127.0.0.1:" + std::to_string(port) +
                                "\nworkers = " + std::to_string(workers) +
                                "\naccess_log = " + dir.file("access.log") +
                                "\ncontrol_socket = off\nlog_level = info\n" + extra_server +
                                "\n[http]\nroot = " + root + "\n" + extra_http + "\n");
}

}  // namespace minid::test
