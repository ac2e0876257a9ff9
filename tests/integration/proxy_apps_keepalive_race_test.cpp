// The keep-alive race (ingress-nginx #3099/#11244, h2o #281): the app closes an idle pooled
// connection just as minid reuses it. Gunicorn gevent with a 1 s keep-alive timeout, and 60 GETs
// and 60 POSTs, each stream about 1 s apart (0.9-1.1 s, so reuses land on both sides of the
// app's close): 0 GET errors, and no POST executed twice (the app logs each id it executes).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "integration/harness.hpp"
#include "integration/proxy_apps_harness.hpp"

namespace minid::test {
namespace {

using json = nlohmann::json;

TEST(ProxyAppsKeepAliveRace, UpstreamClosingIdleConnectionsLosesNothing) {
    SKIP_UNLESS_APP_SERVER(AppServer::gunicorn_gevent);
    ProxySetup setup;
    const std::string app_address = "127.0.0.1:" + std::to_string(free_port());
    setup.write_config({app_address}, "keepalive = 4", "proxy = / app", 1);
    ASSERT_PROXY_CONFIG_OK(setup);

    AppProcess app;
    MinidProcess minid;
    ASSERT_TRUE(start_app_and_minid(setup, app, minid, AppServer::gunicorn_gevent, app_address, -1,
                                    {"-w", "1", "--keep-alive", "1"}));

    std::atomic<int> get_errors{0}, post_errors{0}, posts_answered{0};
    std::vector<std::string> errors;
    std::mutex mu;
    auto stream = [&](bool post, unsigned seed) {
        std::mt19937 rng(seed);
        std::uniform_int_distribution<int> gap_ms(900, 1100);
        const std::string body(1000, 'p');
        for (int i = 0; i < 60; ++i) {
            std::string head = post ? "POST /post?id=race-" + std::to_string(i) +
                                          " HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n"
                                          "Content-Length: 1000\r\n\r\n" +
                                          body
                                    : "GET /hello HTTP/1.1\r\nHost: app.test\r\nConnection: "
                                      "close\r\n\r\n";
            Client c(setup.port);
            bool ok = c.connected() && c.send(head);
            auto r = ok ? c.read_responses(1, 10s) : std::vector<HttpResponse>{};
            ok = !r.empty() && r[0].status == 200;
            if (ok && post) posts_answered++;
            if (!ok) {
                (post ? post_errors : get_errors)++;
                std::lock_guard lock(mu);
                errors.push_back(std::string(post ? "POST " : "GET ") + std::to_string(i) + ": " +
                                 (r.empty() ? "no response" : r[0].status_line));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms(rng)));
        }
    };
    std::thread gets(stream, false, 1u), posts(stream, true, 2u);
    gets.join();
    posts.join();

    std::string all;
    for (const auto& e : errors) all += "\n  " + e;
    EXPECT_EQ(get_errors.load(), 0) << all;
    auto stats = json::parse(setup.app_stats(app_address), nullptr, false);
    ASSERT_TRUE(stats.is_object());
    EXPECT_TRUE(stats["duplicate_posts"].empty()) << stats.dump();
    // A POST that failed may or may not have run (a sent POST is never retried), but every one
    // the client saw answered ran, and none ran twice.
    EXPECT_GE(stats["posts"].get<int>(), posts_answered.load()) << stats.dump() << all;
    EXPECT_LE(stats["posts"].get<int>(), posts_answered.load() + post_errors.load())
        << stats.dump() << all;
    std::printf("keep-alive race: %d GET errors, %d POST errors, %d POSTs executed%s\n",
                get_errors.load(), post_errors.load(), stats["posts"].get<int>(), all.c_str());
}

}  // namespace
}  // namespace minid::test
