// load_tls_material: the master's reading and checking of certificate and key files, with
// certificates made in the test.
#include "daemon/tls_material.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include "tests/unit/common/config_fixture.hpp"
#include "tests/unit/worker/transport/test_certificate.hpp"
#include "worker/transport/tls_bundle.hpp"

namespace minid {
namespace {

using minid::testing::CertOptions;
using minid::testing::make_self_signed;
using minid::testing::TempDir;

class TlsMaterialTest : public ::testing::Test {
  protected:
    TlsMaterialTest() {
        CertOptions o;
        o.dns_names = {"www.test"};
        const auto www = make_self_signed(o);
        cert_ = dir_.write("www.pem", www.cert_pem);
        key_ = dir_.write("www.key", www.key_pem);
        config_.root = dir_.path();
        config_.tls_certificate = {cert_};
        config_.tls_key = {key_};
    }
    TempDir dir_;
    Config config_;
    std::string cert_, key_;
};

TEST_F(TlsMaterialTest, ReadsAndBundlesTheDefaultSite) {
    auto m = load_tls_material(config_, true, std::time(nullptr));
    ASSERT_TRUE(m.ok()) << m.error();
    EXPECT_TRUE(m->warnings.empty());
    auto sites = decode_tls_bundle(m->bundle);
    ASSERT_TRUE(sites.ok()) << sites.error();
    ASSERT_EQ(sites->size(), 1u);
    EXPECT_EQ((*sites)[0].site, "");
    ASSERT_EQ((*sites)[0].pairs.size(), 1u);
    EXPECT_EQ((*sites)[0].pairs[0].certificate_file, cert_);
    EXPECT_NE((*sites)[0].pairs[0].key_pem.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(TlsMaterialTest, MissingKeyFileNamesTheFileAndReason) {
    config_.tls_key = {dir_.path() + "/gone.key"};
    auto m = load_tls_material(config_, false, std::time(nullptr));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error(), dir_.path() + "/gone.key: No such file or directory");
}

TEST_F(TlsMaterialTest, SiteHostsNotNamedAreWarnings) {
    SiteSettings s;
    s.name = "shop";
    s.hosts = {"shop.test"};
    s.root = dir_.path();
    s.tls_certificate = {cert_};
    s.tls_key = {key_};
    config_.sites.push_back(s);
    auto m = load_tls_material(config_, false, std::time(nullptr));
    ASSERT_TRUE(m.ok()) << m.error();
    ASSERT_EQ(m->warnings.size(), 1u);
    EXPECT_EQ(m->warnings[0], cert_ + ": the certificate does not name host shop.test");
}

TEST_F(TlsMaterialTest, TlsListenersNeedADefaultCertificate) {
    config_.tls_certificate.clear();
    config_.tls_key.clear();
    auto none = load_tls_material(config_, false, std::time(nullptr));
    ASSERT_TRUE(none.ok()) << none.error();
    EXPECT_TRUE(none->bundle.empty());
    auto m = load_tls_material(config_, true, std::time(nullptr));
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().find("the default site has no certificate"), std::string::npos);
}

TEST_F(TlsMaterialTest, BadCipherListFailsLikeABadCertificate) {
    config_.tls_ciphers = "NOT-A-CIPHER";
    auto m = load_tls_material(config_, true, std::time(nullptr));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().rfind("invalid tls_ciphers 'NOT-A-CIPHER'", 0), 0u) << m.error();
}

}  // namespace
}  // namespace minid
