// [site] sections with the real binary: the Host picks the document root, an unknown Host or
// none goes to the default site, a reload adds a site, and `minid -t` locates site problems.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

// One request on a fresh connection with the given request line and headers.
std::optional<HttpResponse> one_request(uint16_t port, const std::string& head) {
    Client c(port);
    if (!c.connected() || !c.send(head + "\r\n")) return std::nullopt;
    auto r = c.read_responses(1);
    if (r.empty()) return std::nullopt;
    return r[0];
}

std::string body_for_host(uint16_t port, const std::string& host,
                          const std::string& target = "/hello.txt") {
    auto r = one_request(
        port, "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n");
    return r ? std::to_string(r->status) + " " + r->body : "no answer";
}

std::string site_section(const std::string& name, const std::string& hosts, const std::string& root,
                         const std::string& extra = "") {
    return "\n[site " + name + "]\nhosts = " + hosts + "\nroot = " + root + "\n" + extra;
}

void expect_clean_exit(MinidProcess& m) {
    m.signal(SIGTERM);
    const int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "wait status " << st << "\n" << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

TEST(Sites, HostPicksTheSiteUnknownHostsGetTheDefaultAndAReloadAddsASite) {
    Site site("", "", 2);
    site.dir.write("blog/hello.txt", "blog hello");
    site.dir.write("shop/hello.txt", "shop hello");
    site.dir.write("new/hello.txt", "new hello");
    const std::string two_sites = site_section("blog", "blog.example.com", site.dir.file("blog")) +
                                  site_section("shop", "shop.example.com *.shop.example.com",
                                               site.dir.file("shop"), "server_name = shop\n");
    site.write_config("", two_sites, 2);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();

    EXPECT_EQ(body_for_host(site.port, "blog.example.com"), "200 blog hello");
    EXPECT_EQ(body_for_host(site.port, "Blog.Example.COM.:8080"), "200 blog hello");
    EXPECT_EQ(body_for_host(site.port, "shop.example.com"), "200 shop hello");
    EXPECT_EQ(body_for_host(site.port, "a.b.shop.example.com"), "200 shop hello");
    EXPECT_EQ(body_for_host(site.port, "nobody.example"), "200 Hello, world!");
    EXPECT_EQ(body_for_host(site.port, "new.example.com"), "200 Hello, world!");
    // HTTP/1.0 without Host, and an absolute-form target whose authority overrides Host.
    auto r = one_request(site.port, "GET /hello.txt HTTP/1.0\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "Hello, world!");
    r = one_request(site.port,
                    "GET http://blog.example.com/hello.txt HTTP/1.1\r\nHost: "
                    "nobody.example\r\nConnection: close\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "blog hello");
    // server_name is per site; the default site keeps [http]'s.
    r = one_request(site.port,
                    "GET /hello.txt HTTP/1.1\r\nHost: shop.example.com\r\n"
                    "Connection: close\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("server"), "shop");
    r = one_request(site.port,
                    "GET /hello.txt HTTP/1.1\r\nHost: blog.example.com\r\n"
                    "Connection: close\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("server"), "minid");

    site.write_config("", two_sites + site_section("new", "new.example.com", site.dir.file("new")),
                      2);
    m.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return m.log().find("reload complete") != std::string::npos; }))
        << m.log();
    // The old generation may take a connection until its SIGTERM is handled.
    EXPECT_TRUE(eventually(
        [&] { return body_for_host(site.port, "new.example.com") == "200 new hello"; }, 3s));
    EXPECT_EQ(body_for_host(site.port, "new.example.com"), "200 new hello");
    EXPECT_EQ(body_for_host(site.port, "blog.example.com"), "200 blog hello");
    EXPECT_EQ(body_for_host(site.port, "nobody.example"), "200 Hello, world!");
    expect_clean_exit(m);
}

TEST(Sites, ASiteMarkedDefaultAnswersUnknownHosts) {
    Site site("", "", 1);
    site.dir.write("main/hello.txt", "main hello");
    site.dir.write("blog/hello.txt", "blog hello");
    // [http] keeps its server-wide keys but no root once a [site] is the default.
    site.dir.write("minid.conf",
                   "[server]\nlisten = 127.0.0.1:" + std::to_string(site.port) +
                       "\nworkers = 1\naccess_log = off\ncontrol_socket = off\n"
                       "[http]\nkeepalive_timeout = 5s\n" +
                       site_section("blog", "blog.test", site.dir.file("blog")) +
                       "\n[site main]\ndefault = on\nroot = " + site.dir.file("main") + "\n");
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port)) << m.log();
    EXPECT_EQ(body_for_host(site.port, "blog.test"), "200 blog hello");
    EXPECT_EQ(body_for_host(site.port, "other.test"), "200 main hello");
    expect_clean_exit(m);
}

TEST(Sites, CheckConfigReportsSiteProblemsWithFileAndLine) {
    TempDir dir;
    dir.write("www/index.html", "x");
    const std::string path = dir.file("bad.conf");
    dir.write("bad.conf",
              "[http]\n"  // 1
              "root = " +
                  dir.file("www") +
                  "\n"                // 2
                  "[site a]\n"        // 3
                  "hosts = a.test\n"  // 4
                  "root = " +
                  dir.file("www") +
                  "\n"                // 5
                  "[site b]\n"        // 6
                  "hosts = A.test\n"  // 7
                  "root = " +
                  dir.file("www") +
                  "\n"                // 8
                  "[upstream app]\n"  // 9
                  "[vhost c]\n");     // 10
    const CommandResult r = run_command(std::string(MINID_BINARY) + " -t -c " + path);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(path + ":7: host 'a.test' is already claimed by [site a] at line 4"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find(path + ":9: [upstream app] has no server"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find(path + ":10: unknown section [vhost c]"), std::string::npos)
        << r.output;
}

}  // namespace
}  // namespace minid::test
