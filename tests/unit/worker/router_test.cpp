// Tests for Router: which site answers a Host (exact, wildcard, case, port, trailing dot, IPv6
// literal, absolute-form target, none, unknown), the default site, and that each site serves its
// own root through its own handler.
#include "worker/router.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/worker/http/temp_tree.hpp"

namespace minid {
namespace {

using http::testing::TempTree;

SiteSettings site(const std::string& name, const std::string& root, std::vector<std::string> hosts,
                  bool is_default = false) {
    SiteSettings s;
    s.name = name;
    s.root = root;
    s.hosts = std::move(hosts);
    s.is_default = is_default;
    return s;
}

class RouterTest : public ::testing::Test {
  protected:
    RouterTest() {
        for (const char* d : {"main", "example", "any-example", "deep", "blog", "v6"})
            tree_.write(std::string(d) + "/index.html", d);
        config_.root = tree_.path("main");
        config_.sites = {
            site("example", tree_.path("example"), {"example.com", "www.example.com"}),
            site("any-example", tree_.path("any-example"), {"*.example.com"}),
            site("deep", tree_.path("deep"), {"*.deep.example.com"}),
            site("blog", tree_.path("blog"), {"blog.example.com", "*.blog.org"}),
            site("v6", tree_.path("v6"), {"[::1]", "192.0.2.7"}),
        };
    }

    Router make() const {
        auto r = Router::create(config_);
        EXPECT_TRUE(r.ok()) << r.error();
        return std::move(r).value();
    }

    // The name of the site that answers `host` ("" = [http]'s default site).
    std::string pick(const Router& r, std::string_view host) const {
        return r.site_for_host(host).name;
    }

    // The body the chosen handler serves for "/" with this Host and target.
    static std::string served(const Router& r, std::string_view host, std::string_view target) {
        http::Request req;
        req.method = http::Method::get;
        req.method_name = "GET";
        req.target = target;
        req.host = host;
        http::Response out;
        auto* files = dynamic_cast<http::StaticHandler*>(&r.handler_for(req));
        EXPECT_NE(files, nullptr);
        if (files) files->build(req, 1700000000, out);
        return std::string(out.memory);
    }

    TempTree tree_;
    Config config_;
};

TEST_F(RouterTest, ExactNamesPickTheirSite) {
    const Router r = make();
    EXPECT_EQ(r.site_count(), 6u);
    EXPECT_EQ(pick(r, "example.com"), "example");
    EXPECT_EQ(pick(r, "www.example.com"), "example");
    EXPECT_EQ(pick(r, "blog.example.com"), "blog") << "exact beats *.example.com";
}

TEST_F(RouterTest, CaseIsIgnored) {
    const Router r = make();
    EXPECT_EQ(pick(r, "Example.COM"), "example");
    EXPECT_EQ(pick(r, "WWW.EXAMPLE.COM"), "example");
    EXPECT_EQ(pick(r, "Foo.Example.Com"), "any-example");
}

TEST_F(RouterTest, PortAndTrailingDotAreIgnored) {
    const Router r = make();
    EXPECT_EQ(pick(r, "example.com:8080"), "example");
    EXPECT_EQ(pick(r, "example.com."), "example");
    EXPECT_EQ(pick(r, "example.com.:443"), "example");
    EXPECT_EQ(pick(r, "a.example.com.:1"), "any-example");
    EXPECT_EQ(pick(r, "example.com.."), "") << "only one trailing dot is a fully qualified name";
}

TEST_F(RouterTest, WildcardMatchesOneOrMoreLabelsButNotTheBareSuffix) {
    const Router r = make();
    EXPECT_EQ(pick(r, "a.example.com"), "any-example");
    EXPECT_EQ(pick(r, "a.b.example.com"), "any-example");
    EXPECT_EQ(pick(r, "x.blog.org"), "blog");
    EXPECT_EQ(pick(r, "blog.org"), "") << "*.blog.org does not match blog.org itself";
    EXPECT_EQ(pick(r, "notexample.com"), "") << "a suffix match must start at a dot";
}

TEST_F(RouterTest, LongestWildcardWins) {
    const Router r = make();
    EXPECT_EQ(pick(r, "x.deep.example.com"), "deep");
    EXPECT_EQ(pick(r, "x.y.deep.example.com"), "deep");
    EXPECT_EQ(pick(r, "deep.example.com"), "any-example");
}

TEST_F(RouterTest, IpLiterals) {
    const Router r = make();
    EXPECT_EQ(pick(r, "[::1]"), "v6");
    EXPECT_EQ(pick(r, "[::1]:8080"), "v6");
    EXPECT_EQ(pick(r, "[::2]:8080"), "");
    EXPECT_EQ(pick(r, "[::1"), "") << "an unclosed bracket matches nothing";
    EXPECT_EQ(pick(r, "192.0.2.7:80"), "v6");
}

TEST_F(RouterTest, NoHostAndUnknownHostsGoToTheDefaultSite) {
    const Router r = make();
    EXPECT_EQ(pick(r, ""), "");
    EXPECT_EQ(pick(r, ":8080"), "");
    EXPECT_EQ(pick(r, "other.org"), "");
    EXPECT_EQ(pick(r, std::string(300, 'a')), "") << "longer than any host name";
    EXPECT_EQ(&r.site_for_host("other.org"), &r.default_site());
}

TEST_F(RouterTest, EachSiteServesItsOwnRoot) {
    const Router r = make();
    EXPECT_EQ(served(r, "example.com", "/"), "example");
    EXPECT_EQ(served(r, "x.deep.example.com:8080", "/"), "deep");
    EXPECT_EQ(served(r, "unknown.test", "/"), "main");
    EXPECT_EQ(served(r, "", "/"), "main") << "HTTP/1.0 without Host";
}

TEST_F(RouterTest, AbsoluteFormAuthorityOverridesHost) {
    const Router r = make();
    EXPECT_EQ(served(r, "unknown.test", "http://example.com/"), "example");
    EXPECT_EQ(served(r, "example.com", "HTTP://Blog.Example.Com:80/index.html"), "blog");
    EXPECT_EQ(served(r, "example.com", "https://user@x.blog.org/"), "blog");
    EXPECT_EQ(served(r, "example.com", "/"), "example") << "origin-form keeps the Host";
}

TEST_F(RouterTest, ASiteMarkedDefaultReplacesTheHttpRoot) {
    config_.root.clear();
    config_.sites[3].is_default = true;  // blog
    const Router r = make();
    EXPECT_EQ(r.site_count(), 5u) << "no site is built for [http]";
    EXPECT_EQ(r.default_site().name, "blog");
    EXPECT_EQ(pick(r, "unknown.test"), "blog");
    EXPECT_EQ(served(r, "", "/"), "blog");
    EXPECT_EQ(pick(r, "example.com"), "example");
}

TEST_F(RouterTest, WithoutSitesEveryHostGetsTheHttpRoot) {
    config_.sites.clear();
    const Router r = make();
    EXPECT_EQ(r.site_count(), 1u);
    EXPECT_EQ(served(r, "example.com", "/"), "main");
    EXPECT_EQ(served(r, "", "/"), "main");
    EXPECT_EQ(&r.default_handler(), &r.handler_for(http::Request{}));
}

TEST_F(RouterTest, ManySitesWithSimilarNamesEachFindTheirOwn) {
    config_.sites.clear();
    for (int i = 0; i < 60; ++i) {
        const std::string n = std::to_string(i);
        config_.sites.push_back(site(
            "s" + n, tree_.path("main"),
            {"site" + n + ".example", "www.site" + n + ".example", "*.site" + n + ".example"}));
    }
    const Router r = make();
    for (int i = 0; i < 60; ++i) {
        const std::string n = std::to_string(i);
        EXPECT_EQ(pick(r, "site" + n + ".example"), "s" + n);
        EXPECT_EQ(pick(r, "WWW.site" + n + ".example:80"), "s" + n);
        EXPECT_EQ(pick(r, "a.b.site" + n + ".example"), "s" + n);
    }
    EXPECT_EQ(pick(r, "site60.example"), "");
    EXPECT_EQ(pick(r, "example"), "");
}

TEST_F(RouterTest, AMissingRootNamesItsSite) {
    config_.sites[1].root = tree_.path("missing");
    auto r = Router::create(config_);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("[site any-example]: "), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(tree_.path("missing")), std::string::npos) << r.error();
}

TEST(RouterSite, TheLongestMatchingPrefixAnswersAndSlashTakesTheRest) {
    TempTree tree;
    tree.write("a/index.html", "a");
    tree.write("b/index.html", "b");
    Router::Site s;
    auto a = http::StaticHandler::create({tree.path("a")});
    auto b = http::StaticHandler::create({tree.path("b")});
    ASSERT_TRUE(a.ok() && b.ok());
    http::StaticHandler* api = a->get();
    http::StaticHandler* files = b->get();
    s.routes.push_back({"/api/", api});
    s.routes.push_back({"/", files});
    EXPECT_EQ(&s.handler_for("/api/x"), api);
    EXPECT_EQ(&s.handler_for("/apix"), files);
    EXPECT_EQ(&s.handler_for("/"), files);
    EXPECT_EQ(&s.handler_for("*"), files) << "not origin-form: the last route";
}

}  // namespace
}  // namespace minid

namespace minid {
namespace {

TEST_F(RouterTest, HttpsSettingsPerSiteAndSiteIndexes) {
    config_.hsts = std::chrono::hours(8760);
    config_.sites[3].redirect_https = true;  // blog
    config_.sites[3].hsts = std::chrono::milliseconds(1500);
    const Router r = make();
    EXPECT_TRUE(r.redirects_http());
    const Router::Site& main = r.site_for_host("nobody.test");
    EXPECT_EQ(main.hsts, "max-age=31536000");
    EXPECT_FALSE(main.redirect_https);
    const Router::Site& blog = r.site_for_host("blog.example.com");
    EXPECT_EQ(blog.hsts, "max-age=1") << "whole seconds";
    EXPECT_TRUE(blog.redirect_https);
    EXPECT_EQ(r.site_for_host("example.com").hsts, "") << "not inherited from [http]";
    // index_of and site() agree, for the SNI check.
    for (size_t i = 0; i < r.site_count(); ++i) EXPECT_EQ(r.index_of(r.site(i)), i);
    EXPECT_EQ(&r.site(r.index_of(blog)), &blog);

    config_.sites[3].redirect_https = false;
    EXPECT_FALSE(make().redirects_http());
}

}  // namespace
}  // namespace minid

namespace minid {
namespace {

// A handler that only says it was asked (stands in for an upstream's proxy handler).
class Marker final : public http::Handler {
  public:
    void handle(http::Exchange& ex) override {
        ++calls;
        ex.response().reset(299);
        ex.respond();
    }
    int calls = 0;
};

class RouterProxyTest : public RouterTest {
  protected:
    Router make_proxied() {
        auto r = Router::create(config_, [this](std::string_view name, bool) -> http::Handler* {
            if (name == "app") return &app_;
            if (name == "api") return &api_;
            return nullptr;
        });
        EXPECT_TRUE(r.ok()) << r.error();
        return std::move(r).value();
    }
    static http::Request get(std::string_view host, std::string_view target,
                             http::Method m = http::Method::get) {
        http::Request req;
        req.method = m;
        req.method_name = m == http::Method::get ? "GET" : "POST";
        req.target = target;
        req.host = host;
        return req;
    }
    // Which handler answers: "app", "api", or the status a non-proxy handler gave.
    std::string who(const Router& r, const http::Request& req) {
        http::Exchange ex;
        ex.begin(nullptr, req, nullptr, 1700000000);
        const int app = app_.calls, api = api_.calls;
        r.handler_for(req).handle(ex);
        if (app_.calls != app) return "app";
        if (api_.calls != api) return "api";
        return std::to_string(ex.response().status());
    }
    Marker app_;
    Marker api_;
};

TEST_F(RouterProxyTest, LongestPrefixWinsAndTheRestIsFiles) {
    config_.proxy = {{"/api", "app"}, {"/api/v2/", "api"}};
    const Router r = make_proxied();
    EXPECT_EQ(who(r, get("x.test", "/api/users")), "app");
    EXPECT_EQ(who(r, get("x.test", "/api/v2/users")), "api");
    EXPECT_EQ(who(r, get("x.test", "/api/v2")), "app");
    EXPECT_EQ(who(r, get("x.test", "/index.html")), "200");
    EXPECT_EQ(who(r, get("x.test", "/missing")), "404") << "no fallback: files only";
    EXPECT_EQ(who(r, get("example.com", "/api/users")), "404") << "another site: its files";
}

TEST_F(RouterProxyTest, ProxySlashSendsEverything) {
    config_.sites.clear();
    config_.proxy = {{"/", "app"}};
    const Router r = make_proxied();
    EXPECT_EQ(who(r, get("x.test", "/index.html")), "app");
    EXPECT_EQ(who(r, get("x.test", "*")), "app");
}

TEST_F(RouterProxyTest, FallbackTakesMissingFilesAndOtherMethods) {
    config_.sites[0].proxy_fallback = "app";  // example
    const Router r = make_proxied();
    EXPECT_EQ(who(r, get("example.com", "/index.html")), "200");
    EXPECT_EQ(who(r, get("example.com", "/missing")), "app");
    EXPECT_EQ(who(r, get("example.com", "/index.html", http::Method::other)), "app");
    EXPECT_EQ(who(r, get("nobody.test", "/missing")), "404") << "[http] has no fallback";
}

TEST_F(RouterProxyTest, AnUnknownUpstreamFailsTheRouter) {
    config_.proxy = {{"/x", "nowhere"}};
    auto r =
        Router::create(config_, [](std::string_view, bool) -> http::Handler* { return nullptr; });
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("[upstream nowhere]"), std::string::npos) << r.error();
    EXPECT_FALSE(Router::create(config_).ok()) << "no proxy handlers at all";
}

}  // namespace
}  // namespace minid
