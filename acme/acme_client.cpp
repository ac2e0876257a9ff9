// The RFC 8555 flow; see acme_client.hpp.
#include "acme/acme_client.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace minid::acme {
namespace {

using json = nlohmann::json;

constexpr const char* kJose = "application/jose+json";
// RFC 8555 6.5: a badNonce error carries a fresh nonce and the client should retry. With pebble
// rejecting half the nonces, 8 tries leave 1 request in 256 failing, and an order makes about
// 15 signed requests, so 20 orders in a row could run out. 16 tries: 1 in 65,536 per request.
constexpr int kNonceRetries = 16;

bool is_problem(const HttpResponse& r, std::string_view type) {
    if (r.status < 400) return false;
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() &&
           j.value("type", "") == "urn:ietf:params:acme:error:" + std::string(type);
}

Result<int64_t> parse_rfc3339(const std::string& text) {
    std::tm tm{};
    const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return make_error("bad time '" + text + "'");
    return static_cast<int64_t>(::timegm(&tm));
}

}  // namespace

std::string describe_problem(const HttpResponse& r) {
    auto j = json::parse(r.body, nullptr, false);
    std::string out = "CA answered HTTP " + std::to_string(r.status);
    if (!j.is_object()) return out;
    const std::string type = j.value("type", "");
    const std::string detail = j.value("detail", "");
    if (!type.empty()) out += ": " + type;
    if (!detail.empty()) out += ": " + detail;
    if (j.contains("subproblems") && j["subproblems"].is_array()) {
        for (const json& sp : j["subproblems"]) {
            if (!sp.is_object()) continue;
            out += " (";
            if (sp.contains("identifier") && sp["identifier"].is_object())
                out += sp["identifier"].value("value", "") + ": ";
            out += sp.value("detail", sp.value("type", "")) + ")";
        }
    }
    return out;
}

int64_t parse_retry_after(const std::string& value, int64_t now_s) {
    if (value.empty()) return 0;
    if (value.find_first_not_of("0123456789") == std::string::npos && value.size() < 10)
        return std::stoll(value);
    std::tm tm{};
    if (::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return 0;
    const int64_t at = static_cast<int64_t>(::timegm(&tm));
    return at > now_s ? at - now_s : 0;
}

Client::Client(HttpClient& http, EVP_PKEY* account_key, ClientOptions options, ClientClock clock)
    : http_(http), key_(account_key), options_(std::move(options)), clock_(std::move(clock)) {}

Status Client::fetch_directory() {
    auto r = http_.request("GET", options_.directory_url, "", "");
    if (!r) return make_error(r.error());
    if (r->status != 200)
        return make_error("directory " + options_.directory_url + ": " + describe_problem(*r));
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("newNonce") || !j.contains("newAccount") ||
        !j.contains("newOrder"))
        return make_error("directory " + options_.directory_url +
                          ": not an ACME directory (no newNonce/newAccount/newOrder)");
    new_nonce_url_ = j["newNonce"].get<std::string>();
    new_account_url_ = j["newAccount"].get<std::string>();
    new_order_url_ = j["newOrder"].get<std::string>();
    renewal_info_url_ = j.contains("renewalInfo") ? j["renewalInfo"].get<std::string>() : "";
    return {};
}

Status Client::refresh_nonce() {
    auto r = http_.request("HEAD", new_nonce_url_, "", "");
    if (!r) return make_error(r.error());
    nonce_ = r->header("replay-nonce");
    if (nonce_.empty()) return make_error("newNonce " + new_nonce_url_ + " gave no Replay-Nonce");
    return {};
}

Result<HttpResponse> Client::post(const std::string& url, const std::string& payload,
                                  bool use_jwk) {
    for (int attempt = 0;; ++attempt) {
        if (nonce_.empty()) {
            if (auto st = refresh_nonce(); !st) return make_error(st.error());
        }
        json header{{"alg", jws_algorithm(key_)}, {"nonce", nonce_}, {"url", url}};
        if (use_jwk) {
            auto j = jwk(key_);
            if (!j) return make_error(j.error());
            header["jwk"] = *j;
        } else {
            header["kid"] = kid_;
        }
        nonce_.clear();  // a nonce is good for one request
        auto body = jws(key_, header, payload);
        if (!body) return make_error(body.error());
        auto r = http_.request("POST", url, *body, kJose);
        if (!r) return make_error(r.error());
        nonce_ = r->header("replay-nonce");
        if (r->status < 300) return r;
        retry_after_s_ = parse_retry_after(r->header("retry-after"), clock_.now_s());
        // A rejected nonce is not our mistake (RFC 8555, 6.5): the error brings a fresh one.
        if (is_problem(*r, "badNonce") && attempt < kNonceRetries) continue;
        return make_error(describe_problem(*r));
    }
}

Result<json> Client::post_json(const std::string& url, const std::string& payload,
                               HttpResponse* raw) {
    auto r = post(url, payload);
    if (!r) return make_error(r.error());
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object()) return make_error(url + ": the CA's answer is not a JSON object");
    if (raw) *raw = std::move(*r);
    return j;
}

Status Client::open(const std::string& known_url) {
    thumbprint_.clear();
    auto tp = jwk_thumbprint(key_);
    if (!tp) return make_error(tp.error());
    thumbprint_ = *tp;
    if (auto st = fetch_directory(); !st) return st;
    json payload{{"termsOfServiceAgreed", true}};
    if (!options_.email.empty()) payload["contact"] = json::array({"mailto:" + options_.email});
    if (!known_url.empty()) {
        auto r = post(new_account_url_, json{{"onlyReturnExisting", true}}.dump(), true);
        if (r) {
            kid_ = r->header("location");
            if (kid_.empty()) kid_ = known_url;
            return {};
        }
        // The CA forgot us (a test CA restarted): register again with the same key.
        if (r.error().find("accountDoesNotExist") == std::string::npos)
            return make_error("account: " + r.error());
    }
    auto r = post(new_account_url_, payload.dump(), true);
    if (!r) return make_error("new account: " + r.error());
    kid_ = r->header("location");
    if (kid_.empty()) return make_error("new account: the CA gave no account URL (Location)");
    return {};
}

void Client::wait_retry_after(const HttpResponse& r) {
    int64_t s = parse_retry_after(r.header("retry-after"), clock_.now_s());
    if (s <= 0) s = 1;
    if (s > 30) s = 30;  // the poll limit bounds the whole wait anyway
    clock_.sleep(std::chrono::seconds(s));
}

Result<json> Client::poll(const std::string& url, const char* what,
                          const std::vector<std::string>& done_states) {
    const int64_t deadline = clock_.now_s() + options_.poll_limit.count();
    for (;;) {
        HttpResponse raw;
        auto j = post_json(url, "", &raw);
        if (!j) return make_error(std::string(what) + ": " + j.error());
        const std::string status = j->value("status", "");
        for (const std::string& s : done_states)
            if (status == s) return j;
        if (status == "invalid") return j;
        if (clock_.now_s() >= deadline)
            return make_error(std::string(what) + " " + url + " still " + status + " after " +
                              std::to_string(options_.poll_limit.count()) + " s");
        wait_retry_after(raw);
    }
}

Status Client::authorize(const std::string& authz_url, const ChallengeHooks& hooks) {
    auto authz = post_json(authz_url, "");
    if (!authz) return make_error("authorization: " + authz.error());
    const std::string name = (*authz)["identifier"].value("value", "");
    const std::string status = authz->value("status", "");
    if (status == "valid") return {};  // validated recently for this account: reused
    if (status != "pending") return make_error(name + ": authorization is " + status);
    const json* chosen = nullptr;
    std::string type;
    for (const std::string& want : options_.challenges) {
        for (const json& ch : (*authz)["challenges"]) {
            if (ch.value("type", "") == want) {
                chosen = &ch;
                type = want;
                break;
            }
        }
        if (chosen) break;
    }
    if (!chosen)
        return make_error(name + ": the CA offers none of the challenges configured (" +
                          std::to_string(options_.challenges.size()) + " in [acme] challenges)");
    const std::string token = chosen->value("token", "");
    const std::string url = chosen->value("url", "");
    const std::string key_authorization = token + "." + thumbprint_;
    if (hooks.present) {
        if (auto st = hooks.present(type, name, key_authorization); !st) return st;
    }
    Status result;
    if (auto r = post(url, "{}"); !r) {
        result = make_error(name + ": " + type + " challenge: " + r.error());
    } else if (auto done = poll(authz_url, "authorization", {"valid"}); !done) {
        result = make_error(name + ": " + done.error());
    } else if (done->value("status", "") != "valid") {
        ++failed_validations_;
        std::string why = "validation failed";
        for (const json& ch : (*done)["challenges"]) {
            if (ch.value("type", "") == type && ch.contains("error")) {
                HttpResponse fake;
                fake.status = 403;
                fake.body = ch["error"].dump();
                why = describe_problem(fake);
            }
        }
        result = make_error(name + ": " + type + " " + why);
    }
    if (hooks.cleanup) hooks.cleanup(type, name);
    return result;
}

Result<Issued> Client::obtain(const std::vector<std::string>& names, EVP_PKEY* cert_key,
                              const ChallengeHooks& hooks) {
    failed_validations_ = 0;
    retry_after_s_ = 0;
    json ids = json::array();
    for (const std::string& n : names) ids.push_back({{"type", "dns"}, {"value", n}});
    HttpResponse raw;
    auto order = post_json(new_order_url_, json{{"identifiers", ids}}.dump(), &raw);
    if (!order) return make_error("new order: " + order.error());
    ++orders_;
    const std::string order_url = raw.header("location");
    if (order_url.empty()) return make_error("new order: the CA gave no order URL");
    for (const json& a : (*order)["authorizations"]) {
        if (auto st = authorize(a.get<std::string>(), hooks); !st) return make_error(st.error());
    }
    auto ready = poll(order_url, "order", {"ready", "valid", "processing"});
    if (!ready) return make_error(ready.error());
    if (ready->value("status", "") == "invalid")
        return make_error("order " + order_url + " became invalid");
    if (ready->value("status", "") == "ready") {
        auto csr = make_csr_der(cert_key, names);
        if (!csr) return make_error(csr.error());
        auto fin = post_json(ready->value("finalize", ""), json{{"csr", base64url(*csr)}}.dump());
        if (!fin) return make_error("finalize: " + fin.error());
    }
    auto valid = poll(order_url, "order", {"valid"});
    if (!valid) return make_error(valid.error());
    const std::string cert_url = valid->value("certificate", "");
    if (valid->value("status", "") != "valid" || cert_url.empty())
        return make_error("order " + order_url + " ended " + valid->value("status", "") +
                          " without a certificate");
    auto cert = post(cert_url, "");
    if (!cert) return make_error("certificate download: " + cert.error());
    if (cert->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        return make_error("certificate download " + cert_url + ": not a PEM chain");
    return Issued{cert->body, order_url};
}

Result<RenewalWindow> Client::renewal_info(const std::string& chain_pem) {
    ari_retry_after_s_ = 0;
    if (renewal_info_url_.empty()) return make_error("the CA has no renewalInfo (ARI) endpoint");
    BIO* bio = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
    X509* leaf = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (!leaf) return make_error("ARI: cannot read the certificate");
    const ASN1_OCTET_STRING* aki_id = nullptr;
    auto* aki = static_cast<AUTHORITY_KEYID*>(
        X509_get_ext_d2i(leaf, NID_authority_key_identifier, nullptr, nullptr));
    if (aki) aki_id = aki->keyid;
    std::string keyid = aki_id ? std::string(reinterpret_cast<const char*>(aki_id->data),
                                             static_cast<size_t>(aki_id->length))
                               : std::string();
    AUTHORITY_KEYID_free(aki);
    const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf);
    std::string serial_bytes(reinterpret_cast<const char*>(serial->data),
                             static_cast<size_t>(serial->length));
    X509_free(leaf);
    if (keyid.empty()) return make_error("ARI: the certificate has no authority key identifier");
    // RFC 9773, 4.1: the serial's DER content bytes, with the leading 0 of a positive number
    // whose high bit is set.
    if (!serial_bytes.empty() && (static_cast<unsigned char>(serial_bytes[0]) & 0x80))
        serial_bytes.insert(serial_bytes.begin(), '\0');
    const std::string url = renewal_info_url_ + (renewal_info_url_.ends_with("/") ? "" : "/") +
                            base64url(keyid) + "." + base64url(serial_bytes);
    auto r = http_.request("GET", url, "", "");
    if (!r) return make_error("ARI: " + r.error());
    if (r->status != 200) {
        ari_retry_after_s_ = parse_retry_after(r->header("retry-after"), clock_.now_s());
        return make_error("ARI " + url + ": " + describe_problem(*r));
    }
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("suggestedWindow") || !j["suggestedWindow"].is_object())
        return make_error("ARI " + url + ": no suggestedWindow");
    auto start = parse_rfc3339(j["suggestedWindow"].value("start", ""));
    auto end = parse_rfc3339(j["suggestedWindow"].value("end", ""));
    if (!start || !end || *end < *start) return make_error("ARI " + url + ": bad suggestedWindow");
    return RenewalWindow{*start, *end, parse_retry_after(r->header("retry-after"), clock_.now_s())};
}

}  // namespace minid::acme
