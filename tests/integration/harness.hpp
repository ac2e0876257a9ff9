// Integration-test harness: temp sites, starting the real minid binary, raw-socket HTTP, and
// process inspection. Tests use only loopback and kill only the processes they started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace minid::test {

using namespace std::chrono_literals;

class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& rel) const { return path_ + "/" + rel; }
    // Writes `content` to path()/rel, creating parent directories.
    void write(const std::string& rel, const std::string& content) const;

  private:
    std::string path_;
};

std::string read_file(const std::string& path);

// A loopback TCP port that was free a moment ago.
uint16_t free_port();

// A blocking TCP connection to host:port (receive buffer set before connect() when rcvbuf > 0,
// so the window it advertises stays small); -1 on failure.
int connect_tcp(uint16_t port, const char* host = "127.0.0.1", int rcvbuf = 0);

struct HttpResponse {
    int status = 0;
    std::string status_line;
    std::map<std::string, std::string> headers;  // lower-case names; repeated ones joined by ", "
    std::string body;
    bool has(const std::string& name) const { return headers.count(name) != 0; }
    std::string header(const std::string& name) const;
};

// Parses one response from the front of `data` (Content-Length framed, or until end of data).
// `head_only` for responses to HEAD. Returns bytes used, or 0 if incomplete.
size_t parse_response(const std::string& data, HttpResponse& out, bool head_only = false);

// A blocking client connection with timeouts.
class Client {
  public:
    explicit Client(uint16_t port, const char* host = "127.0.0.1");
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    bool connected() const { return fd_ >= 0; }
    bool send(const std::string& data);
    // Reads until `n` complete responses are parsed, the peer closes, or the timeout.
    std::vector<HttpResponse> read_responses(size_t n, std::chrono::milliseconds timeout = 5s,
                                             bool head_only = false);
    // Reads everything until the peer closes (or timeout); true if it closed.
    bool read_until_close(std::string& out, std::chrono::milliseconds timeout = 5s);
    // True if the peer has closed the connection (EOF) within the timeout.
    bool closed_by_peer(std::chrono::milliseconds timeout = 2s);
    std::string& buffered() { return buf_; }
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
    std::string buf_;
};

// One request on a fresh connection; the whole exchange must finish within the timeout.
std::optional<HttpResponse> http_get(uint16_t port, const std::string& target,
                                     const std::string& extra_headers = "",
                                     const std::string& method = "GET");

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr
};
CommandResult run_command(const std::string& shell_command);

// The real minid binary, started with the given arguments in its own process group.
class MinidProcess {
  public:
    MinidProcess() = default;
    ~MinidProcess();
    MinidProcess(const MinidProcess&) = delete;
    MinidProcess& operator=(const MinidProcess&) = delete;

    // `log_path` receives stderr (and stdout, i.e. the access log).
    bool start(const std::vector<std::string>& args, const std::string& log_path,
               const std::vector<std::string>& extra_env = {},
               const std::string& program = MINID_BINARY);
    pid_t pid() const { return pid_; }
    // Waits until a TCP connect to the port succeeds and a request gets an answer.
    bool wait_serving(uint16_t port, std::chrono::milliseconds timeout = 10s);
    void signal(int signum) const;
    // Waits for exit; returns the wait status or -1 on timeout.
    int wait_exit(std::chrono::milliseconds timeout = 15s);
    bool running() const;
    std::string log() const;
    // Lines of the log that look like sanitizer reports or alerts (must be empty at teardown).
    std::vector<std::string> bad_log_lines() const;

  private:
    pid_t pid_ = -1;
    std::string log_path_;
};

// Child processes of `pid` (from /proc), e.g. a master's workers.
std::vector<pid_t> children_of(pid_t pid);
// Waits until `pred` holds or the timeout passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s,
                std::chrono::milliseconds step = 20ms);
bool process_alive(pid_t pid);
// The target of /proc/PID/exe: the file a process runs (" (deleted)" once replaced); "" if gone.
std::string exe_of(pid_t pid);

// A config file with a free port, a temp docroot, access log to a file, control socket off.
struct Site {
    TempDir dir;
    uint16_t port = 0;
    std::string config_path;
    std::string log_path;
    std::string root;
    explicit Site(const std::string& extra_server = "", const std::string& extra_http = "",
                  int workers = 2);
    void write_config(const std::string& extra_server, const std::string& extra_http, int workers);
};

}  // namespace minid::test
