// The RFC 8555 state machine against a fake CA in memory (no network, no clock): every POST's
// JWS is checked (signature, nonce used once, url, kid or jwk), badNonce is retried, the account
// is looked up with onlyReturnExisting when known, authorizations are validated through the
// hooks' key authorization, the CSR's names are checked, Retry-After is honoured, problem
// documents become readable errors, and ARI windows are read from a fake renewalInfo.
#include "acme/acme_client.hpp"

#include <gtest/gtest.h>

#include "tests/unit/acme/fake_ca.hpp"

namespace minid::acme {
namespace {

using json = nlohmann::json;
using testing::certificate_with_aki_pem;
using testing::csr_names;
using testing::Fixture;

TEST(AcmeClient, ObtainsACertificateForTwoNames) {
    Fixture f;
    ASSERT_TRUE(f.client.open("").ok());
    EXPECT_EQ(f.client.account_url(), "https://ca.test/acct/1");
    f.ca.expect_presented = false;  // two names: the hook holds only the last one
    auto issued = f.client.obtain({"a.example", "b.example"}, f.cert_key.get(), f.hooks);
    std::string log;
    for (const auto& l : f.ca.log) log += l + "\n";
    ASSERT_TRUE(issued.ok()) << issued.error() << "\n" << log;
    EXPECT_NE(issued->chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
    EXPECT_EQ(f.ca.finalized_names, (std::vector<std::string>{"a.example", "b.example"}));
    EXPECT_EQ(f.last_type, "http-01");
    EXPECT_EQ(f.cleanups, 2);
    EXPECT_EQ(f.ca.orders, 1);
    // The pending authorizations were polled after the Retry-After the CA asked for.
    ASSERT_FALSE(f.sleeps.empty());
    EXPECT_EQ(f.sleeps[0], 2000);
}

TEST(AcmeClient, KeyAuthorizationIsTokenDotThumbprintAndTlsAlpnWhenPreferred) {
    Fixture f;
    f.options.challenges = {"tls-alpn-01"};
    Client client{f.ca, f.account.get(), f.options,
                  ClientClock{[&] { return f.now; }, [](auto) {}}};
    ASSERT_TRUE(client.open("").ok());
    auto issued = client.obtain({"a.example"}, f.cert_key.get(), f.hooks);
    ASSERT_TRUE(issued.ok()) << issued.error();
    EXPECT_EQ(f.last_type, "tls-alpn-01");
    EXPECT_EQ(f.ca.presented, "tok-a.example." + jwk_thumbprint(f.account.get()).value());
}

TEST(AcmeClient, RetriesRejectedNonces) {
    Fixture f;
    f.ca.reject_nonces_every = 2;  // every other valid nonce: 50%
    ASSERT_TRUE(f.client.open("").ok());
    // Twenty issuances in a row, each through half its nonces rejected.
    for (int i = 0; i < 20; ++i) {
        auto issued = f.client.obtain({"a.example"}, f.cert_key.get(), f.hooks);
        ASSERT_TRUE(issued.ok()) << "issuance " << i << ": " << issued.error();
    }
    EXPECT_EQ(f.ca.orders, 20);
    EXPECT_GT(f.ca.bad_nonces, 60);
}

TEST(AcmeClient, KnownAccountIsLookedUpNotCreated) {
    Fixture f;
    ASSERT_TRUE(f.client.open("").ok());
    f.ca.log.clear();
    Client again{f.ca, f.account.get(), f.options, ClientClock{[&] { return f.now; }, [](auto) {}}};
    ASSERT_TRUE(again.open("https://ca.test/acct/1").ok());
    EXPECT_EQ(again.account_url(), "https://ca.test/acct/1");
    EXPECT_EQ(f.ca.accounts.size(), 1u);
    // A CA that forgot the account (pebble restarted): registered again.
    f.ca.accounts.clear();
    Client third{f.ca, f.account.get(), f.options, ClientClock{[&] { return f.now; }, [](auto) {}}};
    ASSERT_TRUE(third.open("https://ca.test/acct/1").ok());
    EXPECT_EQ(f.ca.accounts.size(), 1u);
}

TEST(AcmeClient, FailedValidationSaysWhyAndCounts) {
    Fixture f;
    f.ca.validation_fails = true;
    ASSERT_TRUE(f.client.open("").ok());
    auto issued = f.client.obtain({"a.example"}, f.cert_key.get(), f.hooks);
    ASSERT_FALSE(issued.ok());
    EXPECT_EQ(issued.error(),
              "a.example: http-01 CA answered HTTP 403: urn:ietf:params:acme:error:connection: "
              "127.0.0.1: Connection refused");
    EXPECT_EQ(f.client.failed_validations(), 1u);
    EXPECT_EQ(f.cleanups, 1);
}

TEST(AcmeClient, TransportErrorsAreOperatorReadable) {
    Fixture f;
    f.ca.down = true;
    const Status st = f.client.open("");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error(), "cannot connect to ca.test (connection refused)");
}

TEST(AcmeClient, ProblemDocumentsAndRetryAfter) {
    HttpResponse r;
    r.status = 429;
    r.body = R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many",
                 "subproblems":[{"identifier":{"type":"dns","value":"a.example"},"detail":"x"}]})";
    EXPECT_EQ(describe_problem(r),
              "CA answered HTTP 429: urn:ietf:params:acme:error:rateLimited: too many "
              "(a.example: x)");
    EXPECT_EQ(parse_retry_after("120", 0), 120);
    EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:10:00 GMT", 60), 540);
    EXPECT_EQ(parse_retry_after("soon", 0), 0);
}

TEST(AcmeClient, RenewalInfoFromAFakeAriEndpoint) {
    Fixture f;
    f.ca.with_ari = true;
    ASSERT_TRUE(f.client.open("").ok());
    EXPECT_TRUE(f.client.has_renewal_info());
    const std::string pem = certificate_with_aki_pem(f.cert_key.get());

    auto w = f.client.renewal_info(pem);
    ASSERT_TRUE(w.ok()) << w.error();
    EXPECT_EQ(w->start, 1893542400);  // 2030-01-02T00:00:00Z
    EXPECT_EQ(w->end, 1893628800);
    EXPECT_EQ(w->retry_after_s, 21600);
    const size_t dot = f.ca.ari_asked.find('.');
    ASSERT_NE(dot, std::string::npos);
    EXPECT_EQ(base64url_decode(f.ca.ari_asked.substr(dot + 1)).value(),
              std::string("\x00\x87\x65\x43\x21", 5));
    EXPECT_EQ(base64url_decode(f.ca.ari_asked.substr(0, dot))->size(), 20u);  // SHA-1 keyid

    Fixture without;
    ASSERT_TRUE(without.client.open("").ok());
    EXPECT_FALSE(without.client.renewal_info(pem).ok());
}

}  // namespace
}  // namespace minid::acme
