// App restarts and minid reloads nobody sees: a strict GET load (keep-alive and fresh
// connections) plus a POST loop through minid, none of which retries, while Gunicorn is stopped
// and started (owning its unix socket, or with the socket held by a parent and passed in with
// LISTEN_FDS as systemd does), HUPed twice, or minid is reloaded 20 times. Through nginx the first
// case gives thousands of 502s (shared/HTTPS-PROXY.md); here every case must give 0 errors, and
// no POST may be executed twice.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "integration/harness.hpp"
#include "integration/proxy_apps_harness.hpp"

namespace minid::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// The lines of `text` that contain `word` (at most 20).
std::string lines_with(const std::string& text, const std::string& word) {
    std::istringstream in(text);
    std::string line, out;
    for (int n = 0; std::getline(in, line) && n < 20;)
        if (line.find(word) != std::string::npos) out += line + "\n", ++n;
    return out;
}

void expect_no_duplicate_posts(const ProxySetup& setup, const std::string& app_address,
                               uint64_t posts_ok) {
    auto stats = json::parse(setup.app_stats(app_address), nullptr, false);
    ASSERT_TRUE(stats.is_object());
    EXPECT_TRUE(stats["duplicate_posts"].empty()) << stats.dump();
    EXPECT_TRUE(stats["incomplete"].empty()) << stats.dump();
    // Every POST the clients saw answered was executed once; none executed without an answer.
    EXPECT_EQ(stats["posts"].get<uint64_t>(), posts_ok) << stats.dump();
}

// Stops the app and starts a new one on the same address under load; `held_fd` >= 0 is the
// listening socket a parent holds across the restart.
void restart_under_load(bool socket_held_by_parent) {
    ProxySetup setup;
    const std::string sock = setup.dir.file("app.sock");
    const std::string app_address = "unix:" + sock;
    setup.write_config({app_address});
    ASSERT_PROXY_CONFIG_OK(setup);

    int held = -1;
    if (socket_held_by_parent) {
        held = listen_unix(sock);
        ASSERT_GE(held, 0);
    }
    auto app = std::make_unique<AppProcess>();
    ASSERT_TRUE(app->start(AppServer::gunicorn_sync, app_address, setup.state_dir,
                           setup.dir.file("app.log"), held));
    ASSERT_TRUE(app->wait_ready()) << app->log();
    MinidProcess minid;
    ASSERT_TRUE(minid.start({"-c", setup.config_path}, setup.log_path));
    ASSERT_TRUE(minid.wait_serving(setup.port)) << minid.log();

    ProxyLoad load(setup.port, 2, 1, 2);
    load.start();
    std::this_thread::sleep_for(1500ms);
    const auto stop_at = Clock::now();
    EXPECT_TRUE(app->stop()) << "gunicorn did not stop within 10 s";
    std::this_thread::sleep_for(500ms);  // the app is down for a while, as in a real deploy
    app = std::make_unique<AppProcess>();
    ASSERT_TRUE(app->start(AppServer::gunicorn_sync, app_address, setup.state_dir,
                           setup.dir.file("app.log"), held));
    ASSERT_TRUE(app->wait_ready()) << app->log();
    const double gap_ms = ms_between(stop_at, Clock::now());
    std::this_thread::sleep_for(2s);
    load.stop();
    if (held >= 0) ::close(held);

    const auto lat = load.latencies();
    std::printf("restart gap %.0f ms; %s\n", gap_ms, load.summary().c_str());
    EXPECT_EQ(load.failed(), 0u) << load.summary() << "\nminid's log about upstreams:\n"
                                 << lines_with(minid.log(), "upstream");
    EXPECT_GT(load.gets_ok(), 100u) << load.summary();
    EXPECT_GT(load.posts_ok(), 20u) << load.summary();
    EXPECT_LE(lat.max(), gap_ms + 500) << "restart gap " << gap_ms << " ms; " << load.summary();
    expect_no_duplicate_posts(setup, app_address, load.posts_ok());
    EXPECT_TRUE(minid.bad_log_lines().empty()) << minid.log();
}

// The hard case: the stopping Gunicorn closes its listener with minid's connection still in the
// backlog, after minid wrote the request. minid reads ECONNRESET; on a unix socket a reset with
// no response byte means the app never read the request whole (the kernel resets a peer only
// when unread data is left, or the connection was never accepted), so minid retries it, POST
// included, within retry_window. (nginx in front of the same restart: 9,296 x 502; minid before
// that rule: 1-2 POST 502s of ~5,000.)
TEST(ProxyAppsRestart, GunicornOwningItsSocketStoppedAndStarted) {
    SKIP_UNLESS_APP_SERVER(AppServer::gunicorn_sync);
    restart_under_load(false);
}

TEST(ProxyAppsRestart, GunicornWithTheSocketHeldByItsParent) {
    SKIP_UNLESS_APP_SERVER(AppServer::gunicorn_sync);
    restart_under_load(true);
}

TEST(ProxyAppsRestart, GunicornHupTwice) {
    SKIP_UNLESS_APP_SERVER(AppServer::gunicorn_sync);
    ProxySetup setup;
    const std::string app_address = "unix:" + setup.dir.file("app.sock");
    setup.write_config({app_address});
    ASSERT_PROXY_CONFIG_OK(setup);

    AppProcess app;
    MinidProcess minid;
    ASSERT_TRUE(start_app_and_minid(setup, app, minid, AppServer::gunicorn_sync, app_address));

    const auto workers_before = children_of(app.pid());
    ProxyLoad load(setup.port, 2, 1, 2);
    load.start();
    for (int i = 0; i < 2; ++i) {
        std::this_thread::sleep_for(1500ms);
        app.signal(SIGHUP);
    }
    std::this_thread::sleep_for(2s);
    load.stop();
    std::printf("%s\n", load.summary().c_str());
    EXPECT_EQ(load.failed(), 0u) << load.summary();
    EXPECT_GT(load.gets_ok(), 100u) << load.summary();
    EXPECT_NE(children_of(app.pid()), workers_before) << "HUP did not replace Gunicorn's worker";
    expect_no_duplicate_posts(setup, app_address, load.posts_ok());
}

TEST(ProxyAppsRestart, TwentyMinidReloadsUnderProxiedLoad) {
    SKIP_UNLESS_APP_SERVER(AppServer::waitress);
    ProxySetup setup;
    const std::string app_address = "127.0.0.1:" + std::to_string(free_port());
    setup.write_config({app_address}, "keepalive = 16");
    ASSERT_PROXY_CONFIG_OK(setup);

    AppProcess app;
    MinidProcess minid;
    ASSERT_TRUE(start_app_and_minid(setup, app, minid, AppServer::waitress, app_address));

    const auto workers_before = children_of(minid.pid());
    ProxyLoad load(setup.port, 4, 1, 2);
    load.start();
    std::this_thread::sleep_for(500ms);
    for (int i = 0; i < 20; ++i) {
        minid.signal(SIGHUP);
        std::this_thread::sleep_for(500ms);
    }
    std::this_thread::sleep_for(1s);
    load.stop();
    std::printf("20 reloads: %s\n", load.summary().c_str());
    EXPECT_EQ(load.failed(), 0u) << load.summary();
    EXPECT_GT(load.gets_ok(), 200u) << load.summary();
    EXPECT_GT(load.posts_ok(), 20u) << load.summary();
    auto workers_after = children_of(minid.pid());
    for (pid_t w : workers_after)
        EXPECT_EQ(std::count(workers_before.begin(), workers_before.end(), w), 0)
            << "worker " << w << " survived 20 reloads";
    expect_no_duplicate_posts(setup, app_address, load.posts_ok());
    EXPECT_TRUE(minid.bad_log_lines().empty()) << minid.log();
}

}  // namespace
}  // namespace minid::test
