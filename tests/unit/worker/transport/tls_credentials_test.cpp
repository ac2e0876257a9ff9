// parse_key_pair and key_pair_warnings: what the master refuses (file: reason) and what it only
// warns about, on certificates made in the test.
#include "worker/transport/tls_credentials.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <ctime>

#include "tests/unit/worker/transport/test_certificate.hpp"
#include "worker/transport/tls_context.hpp"

namespace minid {
namespace {

using namespace minid::testing;

TlsKeyPairText text_of(const TestPair& p) {
    return {"/etc/c.pem", "/etc/k.pem", p.cert_pem, p.key_pem};
}

TEST(TlsCredentials, ParsesALeafAndItsChainInOrder) {
    TestKey ca_key = make_key();
    CertOptions ca_opts;
    ca_opts.common_name = "Test CA";
    ca_opts.ca = true;
    X509Ptr ca = make_cert(ca_opts, ca_key.key.get(), ca_key.key.get());
    TestKey leaf_key = make_key();
    X509Ptr leaf = make_cert({}, leaf_key.key.get(), ca_key.key.get(), ca.get());
    TlsKeyPairText t{"c.pem", "k.pem", cert_pem(leaf.get()) + cert_pem(ca.get()), leaf_key.pem};
    auto pair = parse_key_pair(t);
    ASSERT_TRUE(pair.ok()) << pair.error();
    EXPECT_EQ(sk_X509_num(pair->chain.get()), 1);
    EXPECT_EQ(key_type_name(pair->key.get()), "ECDSA");

    // The chain before the leaf: refused, naming the certificate file.
    t.certificate_pem = cert_pem(ca.get()) + cert_pem(leaf.get());
    auto wrong = parse_key_pair(t);
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().find("c.pem: the chain is not in order"), std::string::npos)
        << wrong.error();
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(TlsCredentials, GarbageCertificateNamesTheFile) {
    TlsKeyPairText t = text_of(make_self_signed());
    t.certificate_pem = "this is not a certificate\n";
    auto r = parse_key_pair(t);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rfind("/etc/c.pem: no PEM certificate could be read", 0), 0u) << r.error();
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(TlsCredentials, GarbageKeyNamesTheKeyFile) {
    TlsKeyPairText t = text_of(make_self_signed());
    t.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    auto r = parse_key_pair(t);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rfind("/etc/k.pem: no PEM private key could be read", 0), 0u) << r.error();
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(TlsCredentials, KeyOfAnotherCertificateIsRefused) {
    TlsKeyPairText t = text_of(make_self_signed());
    t.key_pem = make_key().pem;
    auto r = parse_key_pair(t);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "/etc/k.pem: the key does not match the certificate in /etc/c.pem");
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(TlsCredentials, ExpiredAndMisnamedAreWarningsOnly) {
    CertOptions o;
    o.dns_names = {"example.com", "*.example.org"};
    o.valid_from_s = -7200;
    o.valid_for_s = 3600;  // ended an hour ago
    auto pair = parse_key_pair(text_of(make_self_signed(o)));
    ASSERT_TRUE(pair.ok()) << pair.error();
    const auto w = key_pair_warnings(
        *pair, "/etc/c.pem", {"example.com", "*.example.org", "other.net"}, std::time(nullptr));
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[0], "/etc/c.pem: the certificate has expired; clients will refuse it");
    EXPECT_EQ(w[1], "/etc/c.pem: the certificate does not name host other.net");
    o.valid_from_s = -60;
    o.valid_for_s = 86400;
    auto fresh = parse_key_pair(text_of(make_self_signed(o)));
    ASSERT_TRUE(fresh.ok());
    EXPECT_TRUE(
        key_pair_warnings(*fresh, "c", {"example.com", "a.b.example.org"}, std::time(nullptr))
            .size() == 1);  // "*.example.org" covers one label only
}

TEST(TlsContext, EcdsaAndRsaSideBySideButNotTwoOfAKind) {
    const TestPair ec = make_self_signed();
    const TestPair rsa = make_self_signed({}, true);
    const std::string ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
    TlsKeyPairText both[] = {text_of(ec), text_of(rsa)};
    auto ok = TlsContext::create({"TLSv1.2 TLSv1.3", ciphers}, both);
    EXPECT_TRUE(ok.ok()) << ok.error();
    TlsKeyPairText twice[] = {text_of(ec), text_of(make_self_signed())};
    twice[1].certificate_file = "/etc/second.pem";
    auto dup = TlsContext::create({"TLSv1.2 TLSv1.3", ciphers}, twice);
    ASSERT_FALSE(dup.ok());
    EXPECT_NE(dup.error().find("/etc/second.pem: cannot be used (a second ECDSA"),
              std::string::npos)
        << dup.error();
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(TlsContext, PolicyErrorsNameTheKey) {
    TlsKeyPairText one[] = {text_of(make_self_signed())};
    auto bad_proto = TlsContext::create({"TLSv1.1", "ECDHE-ECDSA-AES128-GCM-SHA256"}, one);
    ASSERT_FALSE(bad_proto.ok());
    EXPECT_EQ(bad_proto.error().rfind("invalid tls_protocols: unknown protocol 'TLSv1.1'", 0), 0u)
        << bad_proto.error();
    auto bad_ciphers = TlsContext::create({"TLSv1.2", "NO-SUCH-CIPHER"}, one);
    ASSERT_FALSE(bad_ciphers.ok());
    EXPECT_EQ(bad_ciphers.error().rfind("invalid tls_ciphers 'NO-SUCH-CIPHER'", 0), 0u);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace minid
