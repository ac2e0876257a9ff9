// The RFC 8555 state machine against a fake CA in memory (no network, no clock): every POST's
// JWS is checked (signature, nonce used once, url, kid or jwk), badNonce is retried, the account
// is looked up with onlyReturnExisting when known, authorizations are validated through the
// hooks' key authorization, the CSR's names are checked, Retry-After is honoured, problem
// documents become readable errors, and ARI windows are read from a fake renewalInfo.
#include "acme/acme_client.hpp"

#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "tests/unit/acme/verify_signature.hpp"

#include <map>
#include <set>

namespace minid::acme {
namespace {

using json = nlohmann::json;

std::vector<std::string> csr_names(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
    std::vector<std::string> out;
    if (!req) return out;
    STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
    auto* san =
        static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; san && i < sk_GENERAL_NAME_num(san); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(san, i);
        out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                         static_cast<size_t>(ASN1_STRING_length(g->d.dNSName)));
    }
    GENERAL_NAMES_free(san);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    return out;
}

// A CA that follows RFC 8555 closely enough to catch protocol mistakes.
class FakeCa final : public HttpClient {
  public:
    explicit FakeCa(EVP_PKEY* account_key) : key_(account_key) {}

    int reject_nonces_every = 0;  // reject every Nth valid nonce with badNonce
    bool down = false;
    bool validation_fails = false;
    bool with_ari = false;
    int pending_polls = 1;  // authorizations stay pending for this many polls
    std::set<std::string> accounts;
    std::vector<std::string> log;  // "POST /new-order" ...
    std::string presented;         // key authorization the hook put in place
    std::vector<std::string> finalized_names;
    int orders = 0;
    int bad_nonces = 0;

    Result<HttpResponse> request(const std::string& method, const std::string& url,
                                 const std::string& body, const std::string&) override {
        if (down) return make_error("cannot connect to ca.test (connection refused)");
        const std::string path = url.substr(std::string("https://ca.test").size());
        log.push_back(method + " " + path);
        HttpResponse r;
        r.status = 200;
        if (method == "GET" && path == "/dir") {
            json d{{"newNonce", "https://ca.test/nonce"},
                   {"newAccount", "https://ca.test/new-acct"},
                   {"newOrder", "https://ca.test/new-order"}};
            if (with_ari) d["renewalInfo"] = "https://ca.test/ari";
            r.body = d.dump();
            return r;
        }
        if (method == "GET" && path.starts_with("/ari/")) {
            ari_asked = path.substr(5);
            r.headers["retry-after"] = "21600";
            r.body =
                R"({"suggestedWindow":{"start":"2030-01-02T00:00:00Z","end":"2030-01-03T00:00:00Z"}})";
            return r;
        }
        if (method == "HEAD" && path == "/nonce") {
            r.headers["replay-nonce"] = fresh_nonce();
            return r;
        }
        if (method != "POST") return problem(r, 405, "malformed", "method");
        // Check the JWS.
        auto j = json::parse(body, nullptr, false);
        if (!j.is_object()) return problem(r, 400, "malformed", "not JSON");
        const std::string p64 = j["protected"], b64 = j["payload"], s64 = j["signature"];
        auto header = json::parse(base64url_decode(p64).value());
        if (!testing::verify_signature(key_, p64 + "." + b64, base64url_decode(s64).value()))
            return problem(r, 400, "malformed", "bad signature");
        if (header["url"] != url) return problem(r, 400, "malformed", "url mismatch");
        const std::string nonce = header["nonce"];
        if (!nonces_.erase(nonce)) return problem(r, 400, "badNonce", "unknown nonce");
        if (reject_nonces_every > 0 && ++valid_nonces_ % reject_nonces_every == 0) {
            ++bad_nonces;
            return problem(r, 400, "badNonce", "JWS has an invalid anti-replay nonce");
        }
        r.headers["replay-nonce"] = fresh_nonce();
        const std::string payload = base64url_decode(b64).value();
        if (path == "/new-acct") {
            if (!header.contains("jwk") || header["jwk"] != jwk(key_).value())
                return problem(r, 400, "malformed", "newAccount needs the jwk");
            auto pl = json::parse(payload);
            const std::string id = jwk_thumbprint(key_).value();
            if (pl.value("onlyReturnExisting", false) && !accounts.count(id))
                return problem(r, 400, "accountDoesNotExist", "no account for this key");
            if (!pl.value("onlyReturnExisting", false) && !pl.value("termsOfServiceAgreed", false))
                return problem(r, 400, "malformed", "terms not agreed");
            accounts.insert(id);
            r.status = 201;
            r.headers["location"] = "https://ca.test/acct/1";
            r.body = R"({"status":"valid"})";
            return r;
        }
        if (header.value("kid", "") != "https://ca.test/acct/1")
            return problem(r, 401, "unauthorized", "unknown kid");
        if (path == "/new-order") {
            ++orders;
            names_.clear();
            valid_authz_ = 0;
            const json request = json::parse(payload);
            for (const json& id : request["identifiers"]) {
                names_.push_back(id["value"]);
                polls_[id["value"]] = -1;
            }
            order_status_ = "pending";
            r.status = 201;
            r.headers["location"] = "https://ca.test/order/1";
            r.body = order().dump();
            return r;
        }
        if (path.starts_with("/authz/")) {
            const std::string name = path.substr(7);
            int& polls = polls_[name];
            std::string status = "pending";
            if (polls >= 0 && ++polls > pending_polls)
                status = validation_fails ? "invalid" : "valid";
            if (polls >= 0 && status == "pending") r.headers["retry-after"] = "2";
            json ch1{{"type", "http-01"},
                     {"url", "https://ca.test/chall/" + name},
                     {"token", "tok-" + name}};
            json ch2{{"type", "tls-alpn-01"},
                     {"url", "https://ca.test/chall/" + name},
                     {"token", "tok-" + name}};
            if (status == "invalid")
                ch1["error"] = {{"type", "urn:ietf:params:acme:error:connection"},
                                {"detail", "127.0.0.1: Connection refused"}};
            r.body = json{{"status", status},
                          {"identifier", {{"type", "dns"}, {"value", name}}},
                          {"challenges", {ch1, ch2}}}
                         .dump();
            if (status == "valid" && ++valid_authz_ == static_cast<int>(names_.size()))
                order_status_ = "ready";
            if (status == "invalid") order_status_ = "invalid";
            return r;
        }
        if (path.starts_with("/chall/")) {
            const std::string name = path.substr(7);
            if (presented != "tok-" + name + "." + jwk_thumbprint(key_).value() && expect_presented)
                return problem(r, 400, "malformed", "nothing presented for " + name);
            polls_[name] = 0;
            r.body = "{}";
            return r;
        }
        if (path == "/order/1") {
            r.body = order().dump();
            if (order_status_ == "processing") order_status_ = "valid";
            return r;
        }
        if (path == "/finalize") {
            if (order_status_ != "ready") return problem(r, 403, "orderNotReady", "not ready");
            finalized_names =
                csr_names(base64url_decode(json::parse(payload)["csr"].get<std::string>()).value());
            order_status_ = "processing";
            r.body = order().dump();
            return r;
        }
        if (path == "/cert") {
            r.body = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
            return r;
        }
        return problem(r, 404, "malformed", "no such resource " + path);
    }

    bool expect_presented = true;
    std::string ari_asked;

  private:
    json order() const {
        json o{{"status", order_status_}, {"finalize", "https://ca.test/finalize"}};
        json authz = json::array();
        for (const std::string& n : names_) authz.push_back("https://ca.test/authz/" + n);
        o["authorizations"] = authz;
        if (order_status_ == "valid") o["certificate"] = "https://ca.test/cert";
        return o;
    }
    std::string fresh_nonce() {
        const std::string n = "nonce" + std::to_string(++nonce_counter_);
        nonces_.insert(n);
        return n;
    }
    Result<HttpResponse> problem(HttpResponse& r, long status, const std::string& type,
                                 const std::string& detail) {
        r.status = status;
        r.headers["replay-nonce"] = fresh_nonce();
        r.body = json{{"type", "urn:ietf:params:acme:error:" + type}, {"detail", detail}}.dump();
        return r;
    }

    EVP_PKEY* key_;
    std::set<std::string> nonces_;
    int nonce_counter_ = 0;
    int valid_nonces_ = 0;
    std::vector<std::string> names_;
    std::map<std::string, int> polls_;
    int valid_authz_ = 0;
    std::string order_status_ = "pending";
};

struct Fixture {
    Pkey account = generate_key(KeyType::p256).value();
    Pkey cert_key = generate_key(KeyType::p256).value();
    FakeCa ca{account.get()};
    int64_t now = 1'000'000;
    std::vector<int64_t> sleeps;
    ClientOptions options{"https://ca.test/dir", "ops@example.com", {"http-01", "tls-alpn-01"}};
    Client client{ca, account.get(), options,
                  ClientClock{[this] { return now; },
                              [this](std::chrono::milliseconds d) {
                                  sleeps.push_back(d.count());
                                  now += d.count() / 1000;
                              }}};
    ChallengeHooks hooks{
        [this](const std::string& type, const std::string&, const std::string& ka) {
            last_type = type;
            ca.presented = ka;
            return Status{};
        },
        [this](const std::string&, const std::string&) { ++cleanups; }};
    std::string last_type;
    int cleanups = 0;
};

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
    // A certificate with an authority key identifier: issued by a small CA made here.
    Pkey ca_key = generate_key(KeyType::p256).value();
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 0x87654321);  // high bit set: padded
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86'400);
    X509_set_pubkey(cert, f.cert_key.get());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ski = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(cert, ski, -1);
    X509_EXTENSION* aki =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
    X509_add_ext(cert, aki, -1);
    X509_sign(cert, f.cert_key.get(), EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    const std::string pem(data, static_cast<size_t>(n));
    BIO_free(bio);
    X509_EXTENSION_free(ski);
    X509_EXTENSION_free(aki);
    X509_free(cert);

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
