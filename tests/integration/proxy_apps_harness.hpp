// Harness for the reverse-proxy tests with real apps: tests/apps/app.py under Debian's gunicorn
// and waitress as child processes (killed by pid), minid configs that proxy to them, a strict
// request load with latencies, and slow clients.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/harness.hpp"

namespace minid::test {

// Skips the test, saying why, when `kind` is not installed.
#define SKIP_UNLESS_APP_SERVER(kind)                                              \
    do {                                                                          \
        if (auto why_ = ::minid::test::app_server_missing(kind); !why_.empty())   \
            GTEST_SKIP() << ::minid::test::app_server_name(kind) << ": " << why_; \
    } while (0)

// Fails the test when minid rejects the test's proxy config (minid --check-config).
#define ASSERT_PROXY_CONFIG_OK(setup) \
    ASSERT_EQ((setup).check_config(), "") << "minid --check-config rejects the test's config"

enum class AppServer { gunicorn_sync, gunicorn_gevent, waitress };
const char* app_server_name(AppServer kind);

// Why `kind` cannot run here (e.g. "gunicorn is not installed: apt-get install gunicorn"), or "".
std::string app_server_missing(AppServer kind);

// One WSGI server running tests/apps/app.py, in its own process group.
class AppProcess {
  public:
    AppProcess() = default;
    ~AppProcess();
    AppProcess(const AppProcess&) = delete;
    AppProcess& operator=(const AppProcess&) = delete;

    // `address`: HOST:PORT or unix:/path (for gunicorn with `listen_fd` >= 0 it is only the
    // name: the socket is that fd, passed as fd 3 with LISTEN_FDS=1, as systemd does).
    bool start(AppServer kind, const std::string& address, const std::string& state_dir,
               const std::string& log_path, int listen_fd = -1,
               const std::vector<std::string>& extra_args = {});
    // Waits until GET /hello on `address` answers 200.
    bool wait_ready(std::chrono::milliseconds timeout = 20s) const;
    void signal(int signum) const;
    // SIGTERM, then waits for the exit (SIGKILL after `timeout`); true if it exited in time.
    bool stop(std::chrono::milliseconds timeout = 10s);
    pid_t pid() const { return pid_; }
    std::string log() const;

  private:
    pid_t pid_ = -1;
    std::string address_;
    std::string log_path_;
};

// GET /hello straight to an app address (HOST:PORT or unix:/path); the status or 0.
int app_hello_status(const std::string& address);
// A listening unix socket bound at `path` (what systemd holds for a socket-activated app); -1 on
// failure.
int listen_unix(const std::string& path);

// A temp dir with the app's state dir, and a minid config whose default site proxies `/` (or
// `proxy_line`) to upstream "app" with the given servers.
struct ProxySetup {
    TempDir dir;
    uint16_t port = 0;
    std::string config_path, log_path, root, state_dir;
    ProxySetup();
    // `upstream_extra` goes into [upstream app], `site_extra` into [site app].
    void write_config(const std::vector<std::string>& servers,
                      const std::string& upstream_extra = "",
                      const std::string& site_extra = "proxy = / app", int workers = 2,
                      const std::string& server_extra = "");
    // "" when this minid accepts the config; otherwise why not (minid --check-config's output).
    std::string check_config() const;
    // The app's /stats as seen directly (not through minid): JSON text.
    std::string app_stats(const std::string& app_address) const;
};

// Starts `kind` on `app_address` (with `listen_fd` and `app_args` as AppProcess::start takes them)
// and minid on `setup`'s config (with `minid_env`), and waits until both serve.
::testing::AssertionResult start_app_and_minid(const ProxySetup& setup, AppProcess& app,
                                               MinidProcess& minid, AppServer kind,
                                               const std::string& app_address, int listen_fd = -1,
                                               const std::vector<std::string>& app_args = {},
                                               const std::vector<std::string>& minid_env = {});

// True (and the reason in `why`) when minid rejects the proxy keys themselves: a minid without the

struct Latencies {
    std::vector<double> ms;
    double percentile(double p) const;
    double max() const;
};

// Strict clients through minid that never retry: `get_keepalive` connections loop GET /hello on
// persistent connections, `get_fresh` open one per request, `posters` POST 4 KiB to
// /post?id=PREFIX-N (unique ids) on fresh connections.
class ProxyLoad {
  public:
    ProxyLoad(uint16_t port, int get_keepalive, int get_fresh, int posters,
              std::string post_prefix = "p");
    ~ProxyLoad();
    void start();
    void stop();
    uint64_t gets_ok() const { return gets_ok_; }
    uint64_t posts_ok() const { return posts_ok_; }
    uint64_t failed() const { return failed_; }
    const std::vector<std::string>& errors() const { return errors_; }
    Latencies latencies() const;
    std::string summary() const;

  private:
    void run_get(bool keepalive);
    void run_post(int index);
    void record(bool ok, bool post, double ms, const std::string& what);

    uint16_t port_;
    int keepalive_, fresh_, posters_;
    std::string prefix_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> gets_ok_{0}, posts_ok_{0}, failed_{0};
    mutable std::mutex mu_;
    std::vector<double> ms_;
    std::vector<std::string> errors_;
    std::vector<std::thread> threads_;
};

// Resident memory (KiB) of `pid` and its children (a minid master and its workers).
uint64_t tree_rss_kib(pid_t pid);
// Files that `pid` or its children hold open but that were deleted (unlinked temp files).
std::vector<std::string> tree_deleted_files(pid_t pid);

// Slow clients through minid, on one thread: `headers` send a GET head over ~3 s, `uploads` POST
// 16 KiB over ~3 s, `readers` GET /big (8 MiB) at about 2 MiB/s with a small receive buffer; each
// reconnects when its exchange ends.
class SlowClients {
  public:
    SlowClients(uint16_t port, int headers, int uploads, int readers);
    ~SlowClients();
    void start();
    void stop();
    std::string summary() const;
    uint64_t completed() const { return completed_; }

  private:
    void run();
    uint16_t port_;
    int headers_, uploads_, readers_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> completed_{0}, cut_{0}, connects_{0}, bad_status_{0};
    std::atomic<uint64_t> reader_bytes_{0};
    std::thread thread_;
};

}  // namespace minid::test
