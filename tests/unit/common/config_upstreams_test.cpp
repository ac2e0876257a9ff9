// Tests for [upstream NAME] sections and the proxy keys: parsing, defaults, every problem with
// its file:line, the serialize() round trip and validation of a Config built in code.
#include "common/config_upstreams.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/config.hpp"
#include "tests/unit/common/config_fixture.hpp"

namespace minid {
namespace {

using testing::expect_round_trip;

constexpr const char* kProxied =
    "[http]\n"
    "root = /srv/main\n"
    "proxy = /api app\n"
    "proxy = /api/v2 app2\n"
    "proxy = /events app stream\n"
    "proxy_fallback = app\n"
    "\n"
    "[site shop]\n"
    "hosts = shop.example.com\n"
    "root = /srv/shop\n"
    "proxy = / app2\n"
    "\n"
    "[upstream app]\n"
    "server = unix:/run/app/app.sock\n"
    "server = 127.0.0.1:8000\n"
    "max_connections = 16\n"
    "keepalive = 8\n"
    "connect_timeout = 2s\n"
    "read_timeout = 30s\n"
    "send_timeout = 20s\n"
    "retry_window = 3s\n"
    "keepalive_timeout = 1200ms\n"
    "max_temp_file_size = 64m\n"
    "\n"
    "[upstream app2]\n"
    "server = localhost:9000\n";

TEST(ConfigUpstreams, ParsesUpstreamsAndProxyRoutes) {
    auto c = parse_config_text(kProxied, "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_EQ(c->upstreams.size(), 2u);
    const UpstreamSettings& app = c->upstreams[0];
    EXPECT_EQ(app.name, "app");
    ASSERT_EQ(app.servers.size(), 2u);
    EXPECT_EQ(app.servers[0].to_string(), "unix:/run/app/app.sock");
    EXPECT_EQ(app.servers[1].to_string(), "127.0.0.1:8000");
    EXPECT_EQ(app.max_connections, 16u);
    EXPECT_EQ(app.keepalive, 8u);
    EXPECT_EQ(app.connect_timeout, Millis(2000));
    EXPECT_EQ(app.read_timeout, Millis(30'000));
    EXPECT_EQ(app.send_timeout, Millis(20'000));
    EXPECT_EQ(app.retry_window, Millis(3000));
    EXPECT_EQ(app.keepalive_timeout, Millis(1200));
    EXPECT_EQ(app.max_temp_file_size, uint64_t{64} << 20);
    EXPECT_EQ(c->upstreams[1].servers[0].to_string(), "127.0.0.1:9000");
    EXPECT_EQ(c->proxy,
              (std::vector<ProxyRoute>{
                  {"/api", "app", false}, {"/api/v2", "app2", false}, {"/events", "app", true}}));
    EXPECT_EQ(c->proxy_fallback, "app");
    EXPECT_EQ(c->sites[0].proxy, (std::vector<ProxyRoute>{{"/", "app2"}}));
    EXPECT_EQ(c->sites[0].proxy_fallback, "");
    EXPECT_EQ(c->find_upstream("app2"), &c->upstreams[1]);
    EXPECT_EQ(c->find_upstream("nope"), nullptr);
}

TEST(ConfigUpstreams, Defaults) {
    auto c = parse_config_text("[upstream a]\nserver = 127.0.0.1:1\n", "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    const UpstreamSettings& u = c->upstreams[0];
    EXPECT_EQ(u.max_connections, 0u);
    EXPECT_EQ(u.keepalive, 32u);
    EXPECT_EQ(u.connect_timeout, Millis(5000));
    EXPECT_EQ(u.read_timeout, Millis(60'000));
    EXPECT_EQ(u.send_timeout, Millis(60'000));
    EXPECT_EQ(u.retry_window, Millis(5000));
    EXPECT_EQ(u.keepalive_timeout, Millis(1500));
    EXPECT_EQ(u.max_temp_file_size, uint64_t{1} << 30);
}

TEST(ConfigUpstreams, RoundTrips) {
    auto c = parse_config_text(kProxied, "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    expect_round_trip(*c);
    const std::string text = c->serialize();
    EXPECT_NE(text.find("[upstream app]\nserver = unix:/run/app/app.sock\nserver = "
                        "127.0.0.1:8000\nmax_connections = 16\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("proxy = /api app\nproxy = /api/v2 app2\nproxy = /events app "
                        "stream\nproxy_fallback = app\n"),
              std::string::npos)
        << text;
}

TEST(ConfigUpstreams, ConfigWithoutProxySerializesAsBefore) {
    auto c = parse_config_text("[http]\nroot = /srv\n", "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->serialize().find("proxy"), std::string::npos);
    EXPECT_EQ(c->serialize().find("upstream"), std::string::npos);
}

TEST(ConfigUpstreams, ReportsEveryProblemWithItsLine) {
    const std::string text =
        "[http]\n"                      // 1
        "proxy = /api nowhere\n"        // 2
        "proxy = /api app\n"            // 3
        "proxy = api app\n"             // 4
        "proxy_fallback = gone\n"       // 5
        "[upstream app]\n"              // 6
        "server = 127.0.0.1:0\n"        // 7
        "server = example.com:80\n"     // 8
        "server = unix:relative\n"      // 9
        "server = 127.0.0.1:80\n"       // 10
        "server = 127.0.0.1:80\n"       // 11
        "keepalive = lots\n"            // 12
        "keepalive = 3\n"               // 13
        "timeout = 3s\n"                // 14
        "[upstream app]\n"              // 15
        "server = 127.0.0.1:81\n"       // 16
        "[upstream empty]\n"            // 17
        "[upstream]\n"                  // 18
        "[upstream bad/name]\n"         // 19
        "server = 127.0.0.1:82\n"       // 20
        "[site s]\n"                    // 21
        "hosts = s.test\n"              // 22
        "root = /srv/s\n"               // 23
        "proxy = /x missing\n"          // 24
        "proxy_fallback = missing2\n";  // 25
    auto c = parse_config_text(text, "p.conf");
    ASSERT_FALSE(c.ok());
    const std::string& e = c.error();
    auto has = [&](const std::string& line) {
        EXPECT_NE(e.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << e;
    };
    has("p.conf:2: proxy = /api nowhere in [http]: no [upstream nowhere] section");
    has("p.conf:3: duplicate proxy prefix /api (already sent to nowhere)");
    has("p.conf:4: invalid proxy 'api app': expected PREFIX UPSTREAM");
    has("p.conf:5: proxy_fallback = gone in [http]: no [upstream gone] section");
    has("p.conf:7: invalid server '127.0.0.1:0'");
    has("p.conf:8: invalid server 'example.com:80'");
    has("p.conf:9: invalid server 'unix:relative'");
    has("p.conf:11: duplicate server 127.0.0.1:80");
    has("p.conf:12: invalid keepalive 'lots'");
    has("p.conf:13: duplicate key 'keepalive' (already set at line 12)");
    has("p.conf:14: unknown key 'timeout' in [upstream app]");
    has("p.conf:15: duplicate section [upstream app]: already defined");
    has("p.conf:17: [upstream empty] has no server");
    has("p.conf:18: an upstream section takes one name: [upstream NAME]");
    has("p.conf:19: invalid upstream name 'bad/name'");
    has("p.conf:24: proxy = /x missing in [site s]: no [upstream missing] section");
    has("p.conf:25: proxy_fallback = missing2 in [site s]: no [upstream missing2] section");
}

TEST(ConfigUpstreams, OnlyStreamMayFollowTheUpstream) {
    auto c = parse_config_text(
        "[http]\nproxy = /x app streamed\n[upstream app]\nserver = "
        "127.0.0.1:1\n",
        "s.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().find("s.conf:2: invalid proxy '/x app streamed': expected PREFIX "
                             "UPSTREAM [stream]"),
              std::string::npos)
        << c.error();
}

TEST(ConfigUpstreams, ValidateChecksAConfigBuiltInCode) {
    testing::TempDir dir;
    Config c;
    c.root = dir.path();
    c.proxy.push_back({"/api", "app"});
    auto st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("no [upstream app] section"), std::string::npos) << st.error();
    UpstreamSettings u;
    u.name = "app";
    c.upstreams.push_back(u);
    st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("[upstream app] has no server"), std::string::npos) << st.error();
    c.upstreams[0].servers.push_back({ListenAddress::Kind::inet, "127.0.0.1", 8000});
    c.upstreams[0].keepalive_timeout = Millis(0);
    st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("[upstream app] invalid keepalive_timeout"), std::string::npos)
        << st.error();
    c.upstreams[0].keepalive_timeout = Millis(1500);
    EXPECT_TRUE(validate_config(c).ok());
    c.proxy.push_back({"/api", "app"});
    EXPECT_FALSE(validate_config(c).ok()) << "duplicate prefix";
}

TEST(ConfigUpstreams, TrustedProxiesAreRepeatableListsAndRoundTrip) {
    auto c = parse_config_text(
        "[http]\n"
        "root = /srv/main\n"
        "trusted_proxies = 127.0.0.1/8 ::1\n"
        "trusted_proxies = unix\n"
        "trusted_proxies = 2001:db8::/32 192.0.2.7\n",
        "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->trusted_proxies, (std::vector<std::string>{"127.0.0.1/8", "::1", "unix",
                                                            "2001:db8::/32", "192.0.2.7"}));
    expect_round_trip(*c);
    EXPECT_NE(c->serialize().find("trusted_proxies = 127.0.0.1/8\ntrusted_proxies = ::1\n"),
              std::string::npos)
        << c->serialize();
}

TEST(ConfigUpstreams, NoTrustedProxiesByDefaultAndNoLineWritten) {
    auto c = parse_config_text("[http]\nroot = /srv/main\n", "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_TRUE(c->trusted_proxies.empty());
    EXPECT_EQ(c->serialize().find("trusted_proxies"), std::string::npos);
}

TEST(ConfigUpstreams, BadTrustedProxiesNameTheLine) {
    auto c = parse_config_text(
        "[http]\n"
        "root = /srv/main\n"
        "trusted_proxies = 10.0.0.0/8 10.0.0.0/33\n"
        "trusted_proxies = localhost\n"
        "trusted_proxies =\n",
        "p.conf");
    ASSERT_FALSE(c.ok());
    const std::string& e = c.error();
    EXPECT_NE(e.find("p.conf:3: invalid trusted_proxies"), std::string::npos) << e;
    EXPECT_NE(e.find("the prefix length must be 0..32"), std::string::npos) << e;
    EXPECT_NE(e.find("p.conf:4: invalid trusted_proxies"), std::string::npos) << e;
    EXPECT_NE(e.find("expected an IPv4 or IPv6 address"), std::string::npos) << e;
    EXPECT_NE(e.find("p.conf:5: invalid trusted_proxies"), std::string::npos) << e;
}

TEST(ConfigUpstreams, ValidateChecksTrustedProxiesBuiltInCode) {
    testing::TempDir dir;
    Config c;
    c.root = dir.path();
    c.trusted_proxies = {"10.0.0.0/8", "unix"};
    EXPECT_TRUE(validate_config(c).ok());
    c.trusted_proxies.push_back("10.0.0.0/x");
    auto st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("invalid trusted_proxies '10.0.0.0/x'"), std::string::npos)
        << st.error();
}

}  // namespace
}  // namespace minid
