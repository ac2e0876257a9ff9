// Tests for [site NAME] sections: parsing and inheritance from [http], every cross-site problem
// with its file:line, the serialize() round trip, validation and the --root override.
#include "common/config_sites.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/config.hpp"
#include "tests/unit/common/config_fixture.hpp"

namespace minid {
namespace {

using testing::expect_round_trip;
using testing::TempDir;

constexpr const char* kTwoSites =
    "[site blog]\n"
    "hosts = Blog.Example.com *.blog.example.com.\n"
    "root = /srv/blog\n"
    "index = home.html\n"
    "\n"
    "[http]\n"
    "root = /srv/main\n"
    "index = start.html\n"
    "server_name = off\n"
    "\n"
    "[site shop]\n"
    "hosts = shop.example.com\n"
    "hosts = www.shop.example.com [::1]\n"
    "root = /srv/shop\n"
    "server_name = shop/1\n";

TEST(ConfigSites, ParsesSitesInFileOrderWithCanonicalHosts) {
    auto c = parse_config_text(kTwoSites, "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_EQ(c->sites.size(), 2u);
    const SiteSettings& blog = c->sites[0];
    EXPECT_EQ(blog.name, "blog");
    EXPECT_EQ(blog.hosts, (std::vector<std::string>{"blog.example.com", "*.blog.example.com"}));
    EXPECT_EQ(blog.root, "/srv/blog");
    EXPECT_FALSE(blog.is_default);
    const SiteSettings& shop = c->sites[1];
    EXPECT_EQ(shop.hosts,
              (std::vector<std::string>{"shop.example.com", "www.shop.example.com", "[::1]"}));
    EXPECT_EQ(shop.server_name, "shop/1");
    EXPECT_EQ(c->root, "/srv/main") << "[http] stays the default site";
    EXPECT_EQ(c->default_site(), nullptr);
}

TEST(ConfigSites, IndexAndServerNameComeFromHttpUnlessTheSiteSetsThem) {
    auto c = parse_config_text(kTwoSites, "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->sites[0].index, "home.html");
    EXPECT_EQ(c->sites[0].server_name, "") << "[http] server_name = off, even though [http] "
                                              "comes after the site";
    EXPECT_EQ(c->sites[1].index, "start.html");
    EXPECT_EQ(c->sites[1].server_name, "shop/1");
}

TEST(ConfigSites, ASiteCanBeTheDefaultInsteadOfHttp) {
    auto c = parse_config_text("[http]\nindex = i.html\n[site main]\ndefault = on\nroot = /srv\n",
                               "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_NE(c->default_site(), nullptr);
    EXPECT_EQ(c->default_site()->name, "main");
    EXPECT_TRUE(c->default_site()->hosts.empty()) << "a default site needs no hosts";
    EXPECT_EQ(c->default_site()->index, "i.html");
}

TEST(ConfigSites, EveryProblemIsReportedWithItsLine) {
    const char* text =
        "[http]\n"                               // 1
        "root = /srv/main\n"                     // 2
        "[site a]\n"                             // 3
        "hosts = a.example.com\n"                // 4
        "root = /srv/a\n"                        // 5
        "default = on\n"                         // 6
        "[site a]\n"                             // 7
        "hosts = A.example.com b.example.com\n"  // 8
        "root = /srv/a2\n"                       // 9
        "[site c]\n"                             // 10
        "root = /srv/c\n"                        // 11
        "keepalive_timeout = 5s\n"               // 12
        "rot = /x\n"                             // 13
        "[site d]\n"                             // 14
        "hosts = *.x.com www.*.com\n"            // 15
        "default = on\n"                         // 16
        "[upstream app]\n"                       // 17
        "server = 127.0.0.1:9000\n"              // 18
        "[site]\n"                               // 19
        "[sites e]\n"                            // 20
        "[site f]\n"                             // 21
        "hosts = f.test f.test\n"                // 22
        "root = relative\n"                      // 23
        "index = a\n"                            // 24
        "index = b\n"                            // 25
        "[site bad/name]\n"                      // 26
        "hosts = g.test\n"                       // 27
        "root = /g\n"                            // 28
        "[http]\n"                               // 29
        "hosts = x.test\n";                      // 30
    auto c = parse_config_text(text, "m.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(),
              "m.conf:2: root in [http] is not used: [site a] is the default site; remove one of "
              "them (default = on at line 6)\n"
              "m.conf:7: duplicate section [site a]: already defined at line 3\n"
              "m.conf:8: host 'a.example.com' is already claimed by [site a] at line 4\n"
              "m.conf:10: [site c] has no hosts and is not the default, so no request can reach "
              "it: set hosts = NAME ... or default = on\n"
              "m.conf:12: key 'keepalive_timeout' cannot be set in [site c]: it applies to the "
              "whole server; set it in [http]\n"
              "m.conf:13: unknown key 'rot' in [site c] (did you mean 'root'?)\n"
              "m.conf:14: [site d] has no root: set root = /absolute/path\n"
              "m.conf:15: invalid host 'www.*.com': '*' is allowed only as the whole first "
              "label, as in *.example.com\n"
              "m.conf:16: a second default site: [site a] is already the default at line 6\n"
              "m.conf:19: a site section takes one name: [site NAME]\n"
              "m.conf:20: unknown section [sites e] (did you mean [site e]?)\n"
              "m.conf:22: host 'f.test' is listed twice in [site f]\n"
              "m.conf:23: invalid root 'relative': must be an absolute path\n"
              "m.conf:25: duplicate key 'index' (already set at line 24)\n"
              "m.conf:26: invalid site name 'bad/name': use up to 64 letters, digits, '.', '_' "
              "and '-', as in [site example.com]\n"
              "m.conf:30: unknown key 'hosts' in [http] (it belongs in a [site NAME] section)");
}

TEST(ConfigSites, HostsMustNotBeEmpty) {
    auto c = parse_config_text("[site a]\nroot = /a\nhosts =\n", "t.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(),
              "t.conf:3: invalid hosts '': give one or more host names, e.g. example.com");
}

TEST(ConfigSites, SitesRoundTripThroughSerialize) {
    auto c = parse_config_text(kTwoSites, "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    expect_round_trip(*c);
    c->sites[1].is_default = true;
    c->root.clear();
    c->source_file = "/etc/minid/minid.conf";
    expect_round_trip(*c);
    EXPECT_EQ(c->serialize().substr(c->serialize().find("[site shop]")),
              "[site shop]\n"
              "hosts = shop.example.com www.shop.example.com [::1]\n"
              "default = on\n"
              "root = /srv/shop\n"
              "index = start.html\n"
              "server_name = shop/1\n"
              "\n"
              "[meta]\n"
              "source_file = /etc/minid/minid.conf\n");
}

TEST(ConfigSites, ValidationChecksEverySiteAndItsRoot) {
    TempDir dir;
    Config c;
    c.root = dir.mkdir("main");
    SiteSettings a;
    a.name = "a";
    a.hosts = {"a.test"};
    a.root = dir.mkdir("a");
    c.sites.push_back(a);
    EXPECT_TRUE(validate_config(c).ok());

    SiteSettings b = a;
    b.name = "b";
    b.root = dir.path() + "/missing";
    c.sites.push_back(b);
    auto st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error(), "[site b] root " + b.root +
                              ": No such file or directory\n"
                              "host 'a.test' is already claimed by [site a]");

    c.sites[1].hosts = {"B.test"};
    c.sites[1].root = c.sites[0].root;
    st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error(), "[site b] invalid host 'B.test': must be lower case");
}

TEST(ConfigSites, RootOverrideSetsTheDefaultSitesRoot) {
    TempDir dir;
    const std::string site_root = dir.mkdir("site");
    const std::string other = dir.mkdir("other");
    const std::string path =
        dir.write("m.conf", "[site main]\ndefault = on\nroot = " + site_root + "\n");
    ConfigOverrides o;
    auto c = load_config(path, o);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->root, "") << "no [http] site: the built-in root is not filled in";
    EXPECT_EQ(c->default_site()->root, site_root);
    o.root = other;
    c = load_config(path, o);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->default_site()->root, other);
    EXPECT_EQ(c->root, "");
    expect_round_trip(*c);
}

TEST(ConfigSites, RootOverrideKeepsMeaningHttpsRootWithoutADefaultSite) {
    TempDir dir;
    const std::string a = dir.mkdir("a");
    const std::string other = dir.mkdir("other");
    const std::string path = dir.write("m.conf", "[site a]\nhosts = a.test\nroot = " + a + "\n");
    ConfigOverrides o;
    o.root = other;
    auto c = load_config(path, o);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->root, other);
    EXPECT_EQ(c->sites[0].root, a);
}

}  // namespace
}  // namespace minid
