// The automatic-HTTPS keys of minid.conf: [acme] and per site `tls = auto`: parsing, defaults,
// value errors, the serialize() round trip and the rules of validate_config (no wildcard, hosts
// required, not with tls_certificate).
#include <gtest/gtest.h>

#include "common/config.hpp"
#include "tests/unit/common/config_fixture.hpp"

namespace minid {
namespace {

using testing::expect_round_trip;
using testing::TempDir;

Config auto_site_config(const TempDir& dir, std::vector<std::string> hosts) {
    Config c;
    c.root = dir.path();
    SiteSettings s;
    s.name = "shop";
    s.root = dir.path();
    s.hosts = std::move(hosts);
    s.tls_auto = true;
    c.sites.push_back(s);
    return c;
}

TEST(AcmeConfig, DefaultsAreLetsEncryptAndNoAcme) {
    Config c;
    EXPECT_EQ(c.acme_ca, "https://acme-v02.api.letsencrypt.org/directory");
    EXPECT_EQ(c.acme_challenges, "http-01 tls-alpn-01");
    EXPECT_EQ(c.acme_key_type, "p256");
    EXPECT_EQ(c.acme_state_dir, "/var/lib/minid/acme");
    EXPECT_EQ(c.acme_email, "");
    EXPECT_FALSE(c.acme_enabled());
    // A config without ACME serializes no [acme] section.
    EXPECT_EQ(c.serialize().find("[acme]"), std::string::npos) << c.serialize();
}

TEST(AcmeConfig, ParsesEveryKeyAndRoundTrips) {
    auto c = parse_config_text(R"([http]
root = /srv/www

[site shop]
hosts = shop.example shop2.example
root = /srv/shop
tls = auto

[acme]
ca = https://127.0.0.1:14000/dir
email = ops@shop.example
ca_root = /etc/minid/pebble-api-ca.pem
challenges = tls-alpn-01
key_type = rsa2048
state_dir = /tmp/acme-state
)",
                               "acme.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_TRUE(c->sites[0].tls_auto);
    EXPECT_TRUE(c->acme_enabled());
    EXPECT_EQ(c->acme_ca, "https://127.0.0.1:14000/dir");
    EXPECT_EQ(c->acme_email, "ops@shop.example");
    EXPECT_EQ(c->acme_ca_root, "/etc/minid/pebble-api-ca.pem");
    EXPECT_EQ(c->acme_challenges, "tls-alpn-01");
    EXPECT_EQ(c->acme_key_type, "rsa2048");
    EXPECT_EQ(c->acme_state_dir, "/tmp/acme-state");
    c->acme_thumbprint = "abc-_DEF";
    expect_round_trip(*c);
}

TEST(AcmeConfig, ValueErrorsNameTheKeyAndTheFix) {
    const struct {
        const char* line;
        const char* expected;
    } cases[] = {
        {"ca = http://ca.example/dir", "invalid ca 'http://ca.example/dir': expected the https://"},
        {"challenges = dns-01", "unknown challenge 'dns-01'"},
        {"challenges = http-01 http-01", "'http-01' is listed twice"},
        {"key_type = ed25519", "expected p256 or rsa2048"},
        {"state_dir = acme", "must be an absolute path"},
        {"email = no-at-sign", "expected one address"},
    };
    for (const auto& tc : cases) {
        auto c = parse_config_text(std::string("[acme]\n") + tc.line + "\n", "a.conf");
        ASSERT_FALSE(c.ok()) << tc.line;
        EXPECT_NE(c.error().find(tc.expected), std::string::npos) << c.error();
        EXPECT_NE(c.error().find("a.conf:2: "), std::string::npos) << c.error();
    }
    auto c = parse_config_text("[site a]\nhosts = a.example\nroot = /srv\ntls = yes\n", "b.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().find("b.conf:4: invalid tls 'yes': expected auto"), std::string::npos)
        << c.error();
}

TEST(AcmeConfigValidate, AutoSiteIsValid) {
    TempDir dir;
    Config c = auto_site_config(dir, {"a.example", "b.example"});
    c.listen_tls = {ListenAddress::parse("127.0.0.1:8443").value()};
    // No certificate yet for anyone, yet TLS listeners are fine: the CA will issue one.
    EXPECT_TRUE(validate_config(c).ok()) << validate_config(c).error();
}

TEST(AcmeConfigValidate, RejectsWildcardsAddressesAndNoHosts) {
    TempDir dir;
    Config c = auto_site_config(dir, {"a.example", "*.b.example"});
    Status st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("[site shop] tls = auto cannot get a certificate for '*.b.example': "
                              "wildcard names need the DNS-01 challenge"),
              std::string::npos)
        << st.error();

    c = auto_site_config(dir, {"192.0.2.1"});
    st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("the address '192.0.2.1'"), std::string::npos) << st.error();

    c = auto_site_config(dir, {});
    c.sites[0].is_default = true;
    c.root.clear();
    st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("[site shop] tls = auto needs hosts"), std::string::npos)
        << st.error();
}

TEST(AcmeConfigValidate, AutoExcludesOwnCertificate) {
    TempDir dir;
    Config c = auto_site_config(dir, {"a.example"});
    c.sites[0].tls_certificate = {"/a.pem"};
    c.sites[0].tls_key = {"/a.key"};
    const Status st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("[site shop] tls = auto gets the certificate from the [acme] CA: "
                              "remove tls_certificate and tls_key"),
              std::string::npos)
        << st.error();
}

TEST(AcmeConfigLoad, CheckConfigRejectsAWildcardFile) {
    TempDir dir;
    const std::string path = dir.write(
        "m.conf", "[http]\nroot = " + dir.path() +
                      "\n[site w]\nhosts = *.example.com\nroot = " + dir.path() + "\ntls = auto\n");
    auto c = load_config(path, {});
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().find("wildcard"), std::string::npos) << c.error();
}

}  // namespace
}  // namespace minid
