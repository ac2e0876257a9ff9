// Automatic HTTPS against Debian's pebble (Let's Encrypt's test CA), all on loopback: pebble's
// validator connects to minid's plain and TLS listeners (httpPort/tlsPort), pebble-challtestsrv
// answers every DNS name with 127.0.0.1. First issuance for a two-name site (the certificate's
// names exactly the hosts, checked with curl --cacert pebble's root), TLS-ALPN-01 only, a
// restart with the certificate on disk (no new order), the CA down at start (minid serves,
// backs off, shows the error, and gets the certificate once the CA is back, without a
// restart), and a renewal of 120-second certificates. Skips, saying why, without pebble.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

using Clock = std::chrono::steady_clock;

bool have_pebble() {
    return ::access("/usr/bin/pebble", X_OK) == 0 &&
           ::access("/usr/bin/pebble-challtestsrv", X_OK) == 0;
}

#define SKIP_WITHOUT_PEBBLE()                                                                \
    if (!have_pebble())                                                                      \
    GTEST_SKIP() << "pebble is not installed (apt-get install pebble): the ACME tests need " \
                    "/usr/bin/pebble and /usr/bin/pebble-challtestsrv"

// pebble and its DNS, with an API certificate made here.
class Pebble {
  public:
    Pebble(const TempDir& dir, uint16_t http_port, uint16_t tls_port, int validity_s = 0,
           int nonce_reject = 5)
        : dir_(dir),
          http_port_(http_port),
          tls_port_(tls_port),
          validity_s_(validity_s),
          nonce_reject_(nonce_reject) {
        api_port = free_port();
        mgmt_port = free_port();
        dns_port = free_port();
        const auto r = run_command(
            "(cd " + dir_.path() +
            " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
            "api-ca.key -out api-ca.pem -days 2 -subj /CN=pebble-api-ca && openssl req -newkey ec "
            "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout api.key -out api.csr -subj "
            "/CN=localhost && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > api.ext && "
            "openssl x509 -req -in api.csr -CA api-ca.pem -CAkey api-ca.key -set_serial 1 -days 2 "
            "-extfile api.ext -out api.pem)");
        EXPECT_EQ(r.exit_code, 0) << r.output;
        nlohmann::json p{{"listenAddress", "127.0.0.1:" + std::to_string(api_port)},
                         {"managementListenAddress", "127.0.0.1:" + std::to_string(mgmt_port)},
                         {"certificate", dir_.file("api.pem")},
                         {"privateKey", dir_.file("api.key")},
                         {"httpPort", http_port_},
                         {"tlsPort", tls_port_},
                         {"ocspResponderURL", ""},
                         {"externalAccountBindingRequired", false}};
        if (validity_s_ > 0) p["certificateValidityPeriod"] = validity_s_;
        dir_.write("pebble.json", nlohmann::json{{"pebble", p}}.dump(1));
        const std::string dns = "127.0.0.1:" + std::to_string(dns_port);
        dns_.start({"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", dns, "-http01", "",
                    "-https01", "", "-tlsalpn01", "", "-management",
                    "127.0.0.1:" + std::to_string(free_port())},
                   dir_.file("challtestsrv.log"), {}, "/usr/bin/pebble-challtestsrv");
    }

    std::string directory() const {
        return "https://127.0.0.1:" + std::to_string(api_port) + "/dir";
    }
    std::string api_ca() const { return dir_.file("api-ca.pem"); }
    std::string root() const { return dir_.file("pebble-root.pem"); }

    // Starts pebble and fetches its (new) root; false if it does not come up in 10 s.
    bool start() {
        const std::string dns = "127.0.0.1:" + std::to_string(dns_port);
        pebble_ = std::make_unique<MinidProcess>();
        pebble_->start(
            {"-config", dir_.file("pebble.json"), "-dnsserver", dns, "-strict=false"},
            dir_.file("pebble.log"),
            {"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=" + std::to_string(nonce_reject_)},
            "/usr/bin/pebble");
        return eventually(
            [&] {
                return run_command("curl -sf --cacert " + api_ca() + " -o " + root() +
                                   " https://127.0.0.1:" + std::to_string(mgmt_port) + "/roots/0")
                           .exit_code == 0;
            },
            10s, 100ms);
    }
    void stop() {
        if (!pebble_) return;
        pebble_->signal(SIGTERM);
        pebble_->wait_exit(5s);
        pebble_.reset();
    }
    std::string log() const { return read_file(dir_.file("pebble.log")); }
    // Orders pebble has issued a certificate for (its log says so once per order).
    int issued() const {
        const std::string l = log();
        int n = 0;
        for (size_t p = l.find("Issued certificate serial"); p != std::string::npos;
             p = l.find("Issued certificate serial", p + 1))
            ++n;
        return n;
    }

    uint16_t api_port = 0, mgmt_port = 0, dns_port = 0;

  private:
    const TempDir& dir_;
    uint16_t http_port_, tls_port_;
    int validity_s_;
    int nonce_reject_;
    MinidProcess dns_;
    std::unique_ptr<MinidProcess> pebble_;
};

struct AutoSite {
    TempDir dir;
    uint16_t http_port = free_port();
    uint16_t tls_port = free_port();
    std::string config;
    std::string state_dir = dir.file("acme");

    void write(const Pebble& pebble, const std::string& extra_acme = "",
               const std::string& extra_site = "") {
        dir.write("www/index.html", "hello over acme\n");
        dir.write("minid.conf",
                  "[server]\nlisten = 127.0.0.1:" + std::to_string(http_port) +
                      "\nlisten_tls = 127.0.0.1:" + std::to_string(tls_port) +
                      "\nworkers = 2\naccess_log = off\ncontrol_socket = " + dir.file("ctl.sock") +
                      "\nlog_level = info\n\n[http]\nroot = " + dir.file("www") +
                      "\n\n[site shop]\nhosts = a.test b.test\nroot = " + dir.file("www") +
                      "\ntls = auto\n" + extra_site + "\n[acme]\nca = " + pebble.directory() +
                      "\nca_root = " + pebble.api_ca() + "\nstate_dir = " + state_dir + "\n" +
                      extra_acme);
        config = dir.file("minid.conf");
    }
    // curl over HTTPS for `name`, trusting only pebble's root; true if the page came back.
    bool https_ok(const std::string& name, const std::string& root) const {
        const auto r = run_command("curl -sf --max-time 3 --cacert " + root + " --resolve " + name +
                                   ":" + std::to_string(tls_port) + ":127.0.0.1 https://" + name +
                                   ":" + std::to_string(tls_port) + "/");
        return r.exit_code == 0 && r.output == "hello over acme\n";
    }
    // The SANs of the certificate served for `name`, e.g. "DNS:a.test, DNS:b.test".
    std::string served_names(const std::string& name) const {
        const auto r =
            run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port) +
                        " -servername " + name +
                        " </dev/null 2>/dev/null | openssl x509 -noout -ext "
                        "subjectAltName 2>/dev/null | tail -1");
        std::string s = r.output;
        while (!s.empty() && (s.back() == '\n' || s.front() == ' ')) {
            if (s.back() == '\n')
                s.pop_back();
            else
                s.erase(0, 1);
        }
        return s;
    }
    std::string served_serial(const std::string& name) const {
        return run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port) +
                           " -servername " + name +
                           " </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null")
            .output;
    }
    std::string status_json() const {
        return run_command(std::string(MINIDCTL_BINARY) + " --control " + dir.file("ctl.sock") +
                           " status --json")
            .output;
    }
};

// One request with `host` as its Host.
std::optional<HttpResponse> get_for_host(uint16_t port, const std::string& target,
                                         const std::string& host) {
    Client c(port);
    if (!c.connected() ||
        !c.send("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"))
        return std::nullopt;
    auto r = c.read_responses(1, 5s);
    if (r.empty()) return std::nullopt;
    return r[0];
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(AcmePebble, FirstCertificateForTwoNamesWithin30Seconds) {
    SKIP_WITHOUT_PEBBLE();
    AutoSite site;
    Pebble pebble(site.dir, site.http_port, site.tls_port);
    ASSERT_TRUE(pebble.start()) << pebble.log();
    site.write(pebble);
    MinidProcess minid;
    const auto t0 = Clock::now();
    ASSERT_TRUE(minid.start({"-c", site.config}, site.dir.file("minid.log")));
    ASSERT_TRUE(minid.wait_serving(site.http_port)) << minid.log();
    // Plain HTTP serves at once; HTTPS waits for the certificate.
    EXPECT_EQ(http_get(site.http_port, "/")->status, 200);
    ASSERT_TRUE(eventually([&] { return site.https_ok("a.test", pebble.root()); }, 30s, 100ms))
        << minid.log() << pebble.log();
    const double first = seconds_since(t0);
    EXPECT_TRUE(site.https_ok("b.test", pebble.root()));
    EXPECT_EQ(site.served_names("a.test"), "DNS:a.test, DNS:b.test");
    EXPECT_EQ(pebble.issued(), 1);
    std::printf("[ metric ] acme first certificate (2 names, http-01): %.2f s after start\n",
                first);
    // The state directory is private.
    EXPECT_EQ(run_command("stat -c %a " + site.dir.file("acme")).output, "700\n");
    EXPECT_EQ(run_command("stat -c %a " + site.dir.file("acme/certificates/a.test/certificate.pem"))
                  .output,
              "600\n");
    // minidctl status shows the certificate.
    auto st = nlohmann::json::parse(site.status_json(), nullptr, false);
    ASSERT_TRUE(st.is_object()) << site.status_json();
    ASSERT_TRUE(st.contains("acme")) << st.dump();
    const auto& c = st["acme"]["certificates"][0];
    EXPECT_EQ(c["names"], (nlohmann::json{"a.test", "b.test"}));
    EXPECT_TRUE(c["have_certificate"].get<bool>());
    EXPECT_GT(c["not_after"].get<int64_t>(), ::time(nullptr));
    EXPECT_TRUE(minid.bad_log_lines().empty());

    // A restart with the certificate on disk orders nothing and serves it at once.
    minid.signal(SIGTERM);
    ASSERT_NE(minid.wait_exit(20s), -1);
    MinidProcess again;
    ASSERT_TRUE(again.start({"-c", site.config}, site.dir.file("minid2.log")));
    ASSERT_TRUE(again.wait_serving(site.http_port)) << again.log();
    EXPECT_TRUE(eventually([&] { return site.https_ok("b.test", pebble.root()); }, 5s, 100ms));
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(pebble.issued(), 1) << again.log();
    EXPECT_EQ(again.log().find("ordering a certificate"), std::string::npos) << again.log();
}

TEST(AcmePebble, TlsAlpnOnlyAndHalfTheNoncesRejected) {
    SKIP_WITHOUT_PEBBLE();
    AutoSite site;
    Pebble pebble(site.dir, site.http_port, site.tls_port, 0, 50);
    ASSERT_TRUE(pebble.start()) << pebble.log();
    site.write(pebble, "challenges = tls-alpn-01\n");
    MinidProcess minid;
    const auto t0 = Clock::now();
    ASSERT_TRUE(minid.start({"-c", site.config}, site.dir.file("minid.log")));
    ASSERT_TRUE(eventually([&] { return site.https_ok("a.test", pebble.root()); }, 30s, 100ms))
        << minid.log() << pebble.log();
    std::printf(
        "[ metric ] acme first certificate (2 names, tls-alpn-01, 50%% bad nonces): %.2f s\n",
        seconds_since(t0));
    EXPECT_EQ(site.served_names("b.test"), "DNS:a.test, DNS:b.test");
    EXPECT_NE(minid.log().find("answering a TLS-ALPN-01 challenge for a.test"), std::string::npos);
    EXPECT_EQ(minid.log().find("/.well-known/acme-challenge/"), std::string::npos);
    // A client offering acme-tls/1 among other protocols is not a validator: it gets the site's
    // certificate, never a challenge one (there is none left now either).
    const auto r =
        run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(site.tls_port) +
                    " -servername a.test -alpn acme-tls/1,http/1.1 </dev/null 2>/dev/null"
                    " | openssl x509 -noout -ext subjectAltName | tail -1");
    EXPECT_NE(r.output.find("DNS:a.test, DNS:b.test"), std::string::npos) << r.output;
    EXPECT_TRUE(site.https_ok("b.test", pebble.root()));
}

TEST(AcmePebble, CaDownThenBackWithoutRestart) {
    SKIP_WITHOUT_PEBBLE();
    AutoSite site;
    Pebble pebble(site.dir, site.http_port, site.tls_port);
    site.write(pebble, "", "redirect_https = on\n");
    MinidProcess minid;
    ASSERT_TRUE(minid.start({"-c", site.config}, site.dir.file("minid.log")));
    ASSERT_TRUE(minid.wait_serving(site.http_port)) << minid.log();
    // HTTP-01 answers come from the workers with no CA around: TOKEN.THUMBPRINT (43 base64url
    // characters), also on a site that redirects plain HTTP; anything but a token is 404.
    auto challenge =
        get_for_host(site.http_port, "/.well-known/acme-challenge/abc_DEF-1", "a.test");
    ASSERT_TRUE(challenge);
    EXPECT_EQ(challenge->status, 200);
    EXPECT_EQ(challenge->body.rfind("abc_DEF-1.", 0), 0u) << challenge->body;
    EXPECT_EQ(challenge->body.size(), 10u + 43u) << challenge->body;
    EXPECT_EQ(get_for_host(site.http_port, "/.well-known/acme-challenge/a.b", "a.test")->status,
              404);
    EXPECT_EQ(get_for_host(site.http_port, "/", "a.test")->status, 308);
    // The CA is not there: minid serves plain HTTP, says why in status, and backs off.
    ASSERT_TRUE(eventually(
        [&] {
            auto st = nlohmann::json::parse(site.status_json(), nullptr, false);
            return st.is_object() && st.contains("acme") &&
                   st["acme"]["certificates"][0]["attempts"].get<int>() >= 1;
        },
        15s, 200ms))
        << minid.log();
    auto st = nlohmann::json::parse(site.status_json());
    const auto& c = st["acme"]["certificates"][0];
    EXPECT_NE(c["last_error"].get<std::string>().find("cannot connect to 127.0.0.1"),
              std::string::npos)
        << c.dump();
    EXPECT_GE(c["retry_at"].get<int64_t>() - ::time(nullptr), 50) << c.dump();
    EXPECT_EQ(http_get(site.http_port, "/")->status, 200);  // no Host: the default site
    const auto table = run_command(std::string(MINIDCTL_BINARY) + " --control " +
                                   site.dir.file("ctl.sock") + " status");
    EXPECT_NE(table.output.find("a.test"), std::string::npos) << table.output;
    // The CA comes back: the next attempt (after the first minute of backoff) succeeds.
    ASSERT_TRUE(pebble.start()) << pebble.log();
    ASSERT_TRUE(eventually([&] { return site.https_ok("a.test", pebble.root()); }, 90s, 500ms))
        << minid.log() << pebble.log();
    EXPECT_TRUE(minid.running());
}

// Two instances on one state directory (a fleet on a shared volume): one order, both serve it.
// The validator reaches only the first instance's listeners; it answers for the second too,
// since both use the account key in the shared directory.
TEST(AcmePebble, TwoInstancesShareOneStateDirAndOneOrder) {
    SKIP_WITHOUT_PEBBLE();
    AutoSite first, second;
    Pebble pebble(first.dir, first.http_port, first.tls_port);
    ASSERT_TRUE(pebble.start()) << pebble.log();
    second.state_dir = first.state_dir;
    first.write(pebble);
    second.write(pebble);
    MinidProcess a, b;
    ASSERT_TRUE(a.start({"-c", first.config}, first.dir.file("minid.log")));
    ASSERT_TRUE(b.start({"-c", second.config}, second.dir.file("minid.log")));
    ASSERT_TRUE(eventually([&] { return first.https_ok("a.test", pebble.root()); }, 30s, 100ms))
        << a.log() << pebble.log();
    ASSERT_TRUE(eventually([&] { return second.https_ok("b.test", pebble.root()); }, 30s, 100ms))
        << b.log();
    EXPECT_EQ(first.served_serial("a.test"), second.served_serial("a.test"));
    EXPECT_EQ(pebble.issued(), 1) << a.log() << b.log();
}

TEST(AcmePebble, RenewsShortLivedCertificates) {
    SKIP_WITHOUT_PEBBLE();
    AutoSite site;
    Pebble pebble(site.dir, site.http_port, site.tls_port, 120);
    ASSERT_TRUE(pebble.start()) << pebble.log();
    site.write(pebble);
    MinidProcess minid;
    ASSERT_TRUE(minid.start({"-c", site.config}, site.dir.file("minid.log")));
    ASSERT_TRUE(eventually([&] { return site.https_ok("a.test", pebble.root()); }, 30s, 100ms))
        << minid.log() << pebble.log();
    const auto t0 = Clock::now();
    const std::string first = site.served_serial("a.test");
    ASSERT_FALSE(first.empty());
    // 120 s certificates renew at half their life (57-60 s with jitter); every check in between
    // must be served a valid certificate.
    int checks = 0, failures = 0;
    std::string now;
    while (seconds_since(t0) < 75) {
        ++checks;
        if (!site.https_ok("a.test", pebble.root())) ++failures;
        now = site.served_serial("a.test");
        if (!now.empty() && now != first) break;
        std::this_thread::sleep_for(1s);
    }
    EXPECT_NE(now, first) << minid.log();
    EXPECT_EQ(failures, 0) << checks << " checks";
    std::printf(
        "[ metric ] acme renewal of a 120 s certificate: new serial %.0f s after the "
        "first was served, %d checks, %d failed\n",
        seconds_since(t0), checks, failures);
}

// Certificates of 20 s are renewed every ~10 s: keep-alive HTTPS requests (curl, 20 per
// connection) run across at least five certificate-triggered reloads and none fails.
TEST(AcmePebble, FiveCertificateReloadsWithoutAFailedRequest) {
    SKIP_WITHOUT_PEBBLE();
    AutoSite site;
    Pebble pebble(site.dir, site.http_port, site.tls_port, 20);
    ASSERT_TRUE(pebble.start()) << pebble.log();
    site.write(pebble);
    MinidProcess minid;
    ASSERT_TRUE(minid.start({"-c", site.config}, site.dir.file("minid.log")));
    ASSERT_TRUE(eventually([&] { return site.https_ok("a.test", pebble.root()); }, 30s, 100ms))
        << minid.log() << pebble.log();
    const std::string url = "https://a.test:" + std::to_string(site.tls_port) + "/";
    std::string urls;
    for (int i = 0; i < 20; ++i) urls += " -o /dev/null " + url;
    const std::string curl = "curl -s --max-time 10 --cacert " + pebble.root() +
                             " --resolve a.test:" + std::to_string(site.tls_port) +
                             ":127.0.0.1 -w '%{http_code}\\n'" + urls;
    std::set<std::string> serials{site.served_serial("a.test")};
    int requests = 0, failed = 0;
    std::string first_failure;
    const auto t0 = Clock::now();
    while (serials.size() < 6 && seconds_since(t0) < 90) {
        const auto r = run_command(curl);
        for (size_t pos = 0; pos + 3 <= r.output.size(); pos += 4) {
            ++requests;
            if (r.output.compare(pos, 3, "200") != 0 && ++failed == 1)
                first_failure =
                    r.output.substr(pos, 3) + ": " +
                    run_command(curl.substr(0, curl.find(" -w ")) + " -sS " + url).output;
        }
        serials.insert(site.served_serial("a.test"));
    }
    EXPECT_GE(serials.size(), 6u) << minid.log();
    EXPECT_EQ(failed, 0) << requests << " requests; the first failure: " << first_failure;
    EXPECT_GE(requests, 200);
    std::printf(
        "[ metric ] acme: %zu certificates served in %.0f s (20 s lifetime), %d keep-alive "
        "HTTPS requests across the reloads, %d failed\n",
        serials.size(), seconds_since(t0), requests, failed);
}

// The nonce stress against the real CA: certificates of 8 s are renewed every ~3-4 s, so
// the agent orders 20 more in a row while pebble rejects half of all nonces. Every order must
// succeed at once (a failed one would back off a minute and miss the bound), and the served
// certificate, checked once a second throughout, is always valid.
TEST(AcmePebble, TwentyReissuancesWithHalfTheNoncesRejected) {
    SKIP_WITHOUT_PEBBLE();
    AutoSite site;
    Pebble pebble(site.dir, site.http_port, site.tls_port, 8, 50);
    ASSERT_TRUE(pebble.start()) << pebble.log();
    site.write(pebble);
    MinidProcess minid;
    ASSERT_TRUE(minid.start({"-c", site.config}, site.dir.file("minid.log")));
    ASSERT_TRUE(eventually([&] { return site.https_ok("a.test", pebble.root()); }, 30s, 100ms))
        << minid.log() << pebble.log();
    const auto t0 = Clock::now();
    const int first = pebble.issued();
    // Meanwhile, once a second, the served certificate must be valid (curl checks its dates).
    int checks = 0, failures = 0;
    while (pebble.issued() < first + 20 && seconds_since(t0) < 150) {
        ++checks;
        if (!site.https_ok("a.test", pebble.root())) ++failures;
        std::this_thread::sleep_for(1s);
    }
    const double took = seconds_since(t0);
    ASSERT_GE(pebble.issued(), first + 20) << minid.log();
    EXPECT_EQ(failures, 0) << checks << " checks";
    EXPECT_TRUE(eventually([&] { return site.https_ok("b.test", pebble.root()); }, 10s, 100ms));
    EXPECT_EQ(site.served_names("b.test"), "DNS:a.test, DNS:b.test");
    EXPECT_EQ(minid.log().find(" failed (attempt "), std::string::npos) << minid.log();
    EXPECT_TRUE(minid.running());
    std::printf(
        "[ metric ] acme: 20 re-issuances with 50%% bad nonces in %.0f s (8 s certificates); "
        "%d checks of the served certificate, %d failed\n",
        took, checks, failures);
}

}  // namespace
}  // namespace minid::test
