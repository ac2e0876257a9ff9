// The HTTPS keys of minid.conf: listen_tls, tls_protocols, tls_ciphers, and per site
// tls_certificate, tls_key, redirect_https, hsts: parsing, errors, the serialize() round trip,
// the cross-key rules of validate_config and the --listen-tls override.
#include <gtest/gtest.h>

#include "common/config.hpp"
#include "tests/unit/common/config_fixture.hpp"

namespace minid {
namespace {

using testing::expect_round_trip;
using testing::TempDir;
using namespace std::chrono_literals;

ListenAddress addr(std::string_view text) {
    return ListenAddress::parse(text).value();
}

constexpr const char* kFull = R"([server]
listen = 127.0.0.1:8080
listen_tls = 127.0.0.1:8443 [::1]:8443
listen_tls = unix:/run/minid/https.sock
tls_protocols = TLSv1.3
tls_ciphers = ECDHE-ECDSA-AES256-GCM-SHA384
tls_ticket_key_rotation = 8h
tls_ktls = on

[http]
root = /srv/www
tls_certificate = /etc/minid/ecdsa.pem
tls_key = /etc/minid/ecdsa.key
tls_certificate = /etc/minid/rsa.pem
tls_key = /etc/minid/rsa.key
redirect_https = on
hsts = 8760h

[site blog]
hosts = blog.example.com
root = /srv/blog
tls_certificate = /etc/minid/blog.pem
tls_key = /etc/minid/blog.key
hsts = 300
)";

TEST(TlsConfig, ParsesEveryKey) {
    auto c = parse_config_text(kFull, "tls.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    const std::vector<ListenAddress> tls{addr("127.0.0.1:8443"), addr("[::1]:8443"),
                                         addr("unix:/run/minid/https.sock")};
    EXPECT_EQ(c->listen_tls, tls);
    EXPECT_EQ(c->listen, std::vector<ListenAddress>{addr("127.0.0.1:8080")});
    EXPECT_EQ(c->tls_protocols, "TLSv1.3");
    EXPECT_EQ(c->tls_ciphers, "ECDHE-ECDSA-AES256-GCM-SHA384");
    EXPECT_EQ(c->tls_ticket_key_rotation, 8h);
    EXPECT_TRUE(c->tls_ktls);
    EXPECT_EQ(c->tls_certificate,
              (std::vector<std::string>{"/etc/minid/ecdsa.pem", "/etc/minid/rsa.pem"}));
    EXPECT_EQ(c->tls_key, (std::vector<std::string>{"/etc/minid/ecdsa.key", "/etc/minid/rsa.key"}));
    EXPECT_TRUE(c->redirect_https);
    EXPECT_EQ(c->hsts, 8760h);
    ASSERT_EQ(c->sites.size(), 1u);
    EXPECT_EQ(c->sites[0].tls_certificate, std::vector<std::string>{"/etc/minid/blog.pem"});
    EXPECT_EQ(c->sites[0].tls_key, std::vector<std::string>{"/etc/minid/blog.key"});
    EXPECT_FALSE(c->sites[0].redirect_https) << "not inherited from [http]";
    EXPECT_EQ(c->sites[0].hsts, 300s);
    EXPECT_EQ(c->default_tls_certificate(), c->tls_certificate);
}

TEST(TlsConfig, DefaultsAreMozillaIntermediateAndNoTls) {
    const Config d;
    EXPECT_TRUE(d.listen_tls.empty());
    EXPECT_EQ(d.tls_protocols, "TLSv1.2 TLSv1.3");
    EXPECT_EQ(d.tls_ciphers.find("ECDHE-ECDSA-AES128-GCM-SHA256:"), 0u);
    EXPECT_EQ(d.tls_ciphers.find("CBC"), std::string::npos);
    EXPECT_EQ(d.tls_ciphers.find(":DHE-"), std::string::npos) << "ECDHE only";
    EXPECT_FALSE(d.redirect_https);
    EXPECT_EQ(d.hsts, 0ms);
    EXPECT_EQ(d.tls_ticket_key_rotation, 12h) << "as Caddy's";
    EXPECT_FALSE(d.tls_ktls) << "opt-in";
}

TEST(TlsConfig, RoundTripsThroughSerialize) {
    auto c = parse_config_text(kFull, "tls.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    expect_round_trip(*c);
    const std::string text = c->serialize();
    EXPECT_NE(text.find("listen_tls = 127.0.0.1:8443\nlisten_tls = [::1]:8443\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("tls_certificate = /etc/minid/ecdsa.pem\ntls_certificate = "
                        "/etc/minid/rsa.pem\ntls_key = /etc/minid/ecdsa.key\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nredirect_https = on\nhsts = 8760h"), std::string::npos) << text;
    // The defaults write no TLS certificate lines at all.
    const std::string plain = Config{}.serialize();
    EXPECT_EQ(plain.find("listen_tls"), std::string::npos);
    EXPECT_EQ(plain.find("tls_certificate"), std::string::npos);
}

struct BadTls {
    const char* text;
    const char* error;
};

class TlsConfigBad : public ::testing::TestWithParam<BadTls> {};

TEST_P(TlsConfigBad, FailsWithLineAndReason) {
    auto c = parse_config_text(GetParam().text, "t.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Keys, TlsConfigBad,
    ::testing::Values(
        BadTls{"[server]\nlisten_tls = 127.0.0.1:99999\n",
               "t.conf:2: invalid listen address '127.0.0.1:99999': port out of range"},
        BadTls{"[server]\nlisten_tls = 127.0.0.1:443 127.0.0.1:443\n",
               "t.conf:2: duplicate listen_tls address 127.0.0.1:443"},
        BadTls{"[server]\ntls_protocols = TLSv1.1 TLSv1.2\n",
               "t.conf:2: invalid tls_protocols 'TLSv1.1 TLSv1.2': unknown protocol 'TLSv1.1' "
               "(expected TLSv1.2 and/or TLSv1.3; older versions are not offered)"},
        BadTls{"[server]\ntls_ciphers = AES 128\n",
               "t.conf:2: invalid tls_ciphers 'AES 128': expected an OpenSSL cipher list such "
               "as ECDHE-ECDSA-AES128-GCM-SHA256:..."},
        BadTls{"[http]\ntls_certificate = cert.pem\n",
               "t.conf:2: invalid tls_certificate 'cert.pem': must be an absolute path"},
        BadTls{"[site a]\nhosts = a\nroot = /a\ntls_key = key.pem\n",
               "t.conf:4: invalid tls_key 'key.pem': must be an absolute path"},
        BadTls{"[http]\nredirect_https = maybe\n",
               "t.conf:2: invalid redirect_https 'maybe': expected 'on' or 'off'"},
        BadTls{"[http]\nhsts = 3y\n",
               "t.conf:2: invalid hsts '3y': expected a duration such as 30s, 500ms, 2m or 1h"},
        BadTls{"[server]\ntls_certificate = /x.pem\n",
               "t.conf:2: unknown key 'tls_certificate' in [server] (did you mean "
               "'tls_certificate' in [http]?)"}));

TEST(TlsConfigValidate, CertificatesAndKeysPairUp) {
    TempDir dir;
    Config c;
    c.root = dir.path();
    c.tls_certificate = {"/a.pem", "/b.pem"};
    c.tls_key = {"/a.key"};
    const Status st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error(),
              "[http] tls_certificate and tls_key pair up in order: 2 certificate(s) but 1 key(s)");
}

TEST(TlsConfigValidate, TlsListenersNeedADefaultCertificate) {
    TempDir dir;
    Config c;
    c.root = dir.path();
    c.listen_tls = {addr("127.0.0.1:8443")};
    Status st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("listen_tls needs a certificate for the default site"),
              std::string::npos)
        << st.error();
    c.tls_certificate = {"/a.pem"};
    c.tls_key = {"/a.key"};
    EXPECT_TRUE(validate_config(c).ok());
    // Only TLS listeners is fine too.
    c.listen.clear();
    EXPECT_TRUE(validate_config(c).ok());
    c.listen_tls.clear();
    st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error(),
              "no listen address: set listen or listen_tls in [server], or use --listen");
}

TEST(TlsConfigValidate, AnAddressIsPlainOrTlsNotBoth) {
    TempDir dir;
    Config c;
    c.root = dir.path();
    c.tls_certificate = {"/a.pem"};
    c.tls_key = {"/a.key"};
    c.listen_tls = {addr("127.0.0.1:8080")};  // the default plain address
    const Status st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error(), "duplicate listen_tls address 127.0.0.1:8080");
}

TEST(TlsConfigValidate, HttpCertificateUnusedWhenASiteIsTheDefault) {
    TempDir dir;
    Config c;
    SiteSettings s;
    s.name = "main";
    s.is_default = true;
    s.root = dir.path();
    c.sites.push_back(s);
    c.tls_certificate = {"/a.pem"};
    c.tls_key = {"/a.key"};
    const Status st = validate_config(c);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error(),
              "tls_certificate in [http] is not used: [site main] is the default site; set it "
              "there");
}

TEST(TlsConfigLoad, ListenTlsOverrideReplacesTheFile) {
    TempDir dir;
    const std::string path =
        dir.write("m.conf", "[server]\nlisten_tls = 127.0.0.1:8443\n[http]\nroot = " + dir.path() +
                                "\ntls_certificate = /c.pem\ntls_key = /k.pem\n");
    ConfigOverrides o;
    o.listen_tls = {addr("127.0.0.1:9443"), addr("127.0.0.1:9444")};
    auto c = load_config(path, o);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->listen_tls, o.listen_tls);
    EXPECT_EQ(c->listen, Config{}.listen) << "--listen-tls leaves listen alone";
}

}  // namespace
}  // namespace minid
