// A CA that follows RFC 8555 closely enough to catch protocol mistakes, in memory (no network,
// no clock), with an RFC 9773 renewalInfo endpoint whose answer a test sets; and a fixture with a
// Client on it whose clock only moves when it sleeps.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "acme/acme_client.hpp"
#include "tests/unit/acme/verify_signature.hpp"

namespace minid::acme::testing {

using json = nlohmann::json;

inline std::vector<std::string> csr_names(const std::string& der) {
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

class FakeCa final : public HttpClient {
  public:
    explicit FakeCa(EVP_PKEY* account_key) : key_(account_key) {}

    int reject_nonces_every = 0;  // reject every Nth valid nonce with badNonce
    bool down = false;
    bool validation_fails = false;
    bool with_ari = false;
    // The renewalInfo answer: the suggested window (RFC 3339), Retry-After ("" = none), status.
    std::string ari_start = "2030-01-02T00:00:00Z";
    std::string ari_end = "2030-01-03T00:00:00Z";
    std::string ari_retry_after = "21600";
    long ari_status = 200;
    int ari_requests = 0;
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
            ++ari_requests;
            if (!ari_retry_after.empty()) r.headers["retry-after"] = ari_retry_after;
            if (ari_status != 200) return problem(r, ari_status, "serverInternal", "ARI is down");
            r.body = json{{"suggestedWindow", {{"start", ari_start}, {"end", ari_end}}}}.dump();
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
        if (!verify_signature(key_, p64 + "." + b64, base64url_decode(s64).value()))
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

// A certificate with an authority key identifier (what an ARI request is built from), issued
// by itself with `key`, serial 0x87654321 (high bit set: padded in the request).
inline std::string certificate_with_aki_pem(EVP_PKEY* key) {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 0x87654321);  // high bit set: padded
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86'400);
    X509_set_pubkey(cert, key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ski = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(cert, ski, -1);
    X509_EXTENSION* aki =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
    X509_add_ext(cert, aki, -1);
    X509_sign(cert, key, EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    const std::string pem(data, static_cast<size_t>(n));
    BIO_free(bio);
    X509_EXTENSION_free(ski);
    X509_EXTENSION_free(aki);
    X509_free(cert);
    return pem;
}

}  // namespace minid::acme::testing
