// HTTPS with the real binary and real clients (curl, openssl s_client), certificates made by
// the test with the openssl command: SNI over two sites, no SNI and unknown names, 421, the
// protocol policy, redirect_https and hsts, garbage and plain HTTP on the TLS port, a 1 MiB
// file, and reloads with broken and renewed certificates.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "integration/harness.hpp"
#include "integration/tls_clients.hpp"

namespace minid::test {
namespace {

// An SSLv2 CLIENT-HELLO (2-byte header, version 0x0002), complete: 46 bytes of message.
std::string sslv2_hello() {
    std::string h("\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10", 11);
    h += std::string(21, '\x01');  // 7 cipher specs
    h += std::string(16, '\x02');  // challenge
    return h;
}

// One plain-HTTP request with this Host.
std::optional<HttpResponse> plain_get(uint16_t port, const std::string& target,
                                      const std::string& host) {
    Client c(port);
    if (!c.connected() ||
        !c.send("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"))
        return std::nullopt;
    auto r = c.read_responses(1);
    if (r.empty()) return std::nullopt;
    return r[0];
}

std::string tls_config(uint16_t tls_port) {
    return "listen_tls = 127.0.0.1:" + std::to_string(tls_port) + "\n";
}

std::string http_tls(const TempDir& dir, const std::string& extra = "") {
    return "tls_certificate = " + dir.file("www.pem") + "\ntls_key = " + dir.file("www.key") +
           "\n" + extra;
}

std::string blog_site(const TempDir& dir, const std::string& extra = "") {
    return "\n[site blog]\nhosts = blog.test\nroot = " + dir.file("blog") +
           "\ntls_certificate = " + dir.file("blog.pem") + "\ntls_key = " + dir.file("blog.key") +
           "\n" + extra;
}

class Https : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(pki_.ok());
        ASSERT_TRUE(pki_.leaf("www", "DNS:www.test,DNS:localhost", 10));
        ASSERT_TRUE(pki_.leaf("blog", "DNS:blog.test", 20));
        site_.dir.write("blog/hello.txt", "blog hello");
        tls_port_ = free_port();
    }
    void start(const std::string& extra_http, const std::string& extra_server = "") {
        site_.write_config(tls_config(tls_port_) + extra_server, extra_http, 2);
        ASSERT_TRUE(m_.start({"-c", site_.config_path}, site_.log_path));
        ASSERT_TRUE(m_.wait_serving(site_.port)) << m_.log();
        ASSERT_TRUE(eventually([&] { return served_serial(tls_port_, "www.test") == "0A"; }))
            << m_.log();
    }
    void TearDown() override { stop_expecting_a_clean_exit(m_); }
    // SIGHUP, then the log line that says how the reload ended (the n-th reload).
    std::string reload(int n) {
        m_.signal(SIGHUP);
        std::string line;
        eventually(
            [&] {
                const std::string log = m_.log();
                size_t pos = 0;
                int seen = 0;
                for (size_t at; (at = log.find("\n", pos)) != std::string::npos; pos = at + 1) {
                    const std::string l = log.substr(pos, at - pos);
                    if (l.find("reload failed") != std::string::npos ||
                        l.find("is serving") != std::string::npos) {
                        if (l.find("generation 1 is serving") != std::string::npos) continue;
                        if (++seen == n) {
                            line = l;
                            return true;
                        }
                    }
                }
                return false;
            },
            15s);
        return line;
    }

    Site site_{"", "", 2};
    TestPki pki_{site_.dir};
    uint16_t tls_port_ = 0;
    MinidProcess m_;
};

TEST_F(Https, SniPicksTheSiteAndItsCertificateAndAMismatchedHostGets421) {
    start(http_tls(site_.dir) + blog_site(site_.dir));
    EXPECT_EQ(served_serial(tls_port_, "www.test"), "0A");
    EXPECT_EQ(served_serial(tls_port_, "blog.test"), "14");
    // No SNI, or a name no site has: the default site's certificate.
    EXPECT_EQ(served_serial(tls_port_, ""), "0A");
    EXPECT_EQ(served_serial(tls_port_, "nobody.test"), "0A");

    auto r = curl_https(site_.dir, tls_port_, "blog.test", "/hello.txt");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.rfind("HTTP/1.1 200", 0), 0u) << r.output;
    EXPECT_NE(r.output.find("blog hello"), std::string::npos) << r.output;
    r = curl_https(site_.dir, tls_port_, "www.test", "/hello.txt");
    EXPECT_NE(r.output.find("Hello, world!"), std::string::npos) << r.output;
    // SNI blog.test, Host www.test: another site than the handshake's.
    r = curl_https(site_.dir, tls_port_, "blog.test", "/hello.txt", "-H 'Host: www.test'");
    EXPECT_EQ(r.output.rfind("HTTP/1.1 421 Misdirected Request", 0), 0u) << r.output;
    // Without SNI (an IP address), any Host is served.
    r = run_command("curl -s -k -i --max-time 10 -H 'Host: blog.test' https://127.0.0.1:" +
                    std::to_string(tls_port_) + "/hello.txt");
    EXPECT_NE(r.output.find("blog hello"), std::string::npos) << r.output;
}

TEST_F(Https, EcdsaAndRsaCertificatesSideBySideChosenByTheClient) {
    ASSERT_TRUE(pki_.leaf("wwwrsa", "DNS:www.test", 30, true));
    start(http_tls(site_.dir, "tls_certificate = " + site_.dir.file("wwwrsa.pem") +
                                  "\ntls_key = " + site_.dir.file("wwwrsa.key") + "\n"));
    const std::string connect = "openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port_) +
                                " -servername www.test ";
    auto serial = [&](const std::string& opts) {
        const auto r =
            run_command(connect + opts + " </dev/null 2>/dev/null | openssl x509 -noout -serial");
        return r.output;
    };
    EXPECT_EQ(serial(""), "serial=0A\n") << "ECDSA for a client that takes both";
    EXPECT_EQ(serial("-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"), "serial=1E\n");
    EXPECT_EQ(serial("-tls1_3 -sigalgs rsa_pss_rsae_sha256"), "serial=1E\n");
}

TEST_F(Https, Tls12And13WorkOlderVersionsAreRefused) {
    start(http_tls(site_.dir));
    const std::string connect = "openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port_) +
                                " -servername www.test";
    for (const char* v : {"-tls1_2", "-tls1_3"}) {
        const auto r = run_command(connect + " " + v + " </dev/null");
        EXPECT_EQ(r.exit_code, 0) << v << "\n" << r.output;
        const std::string version = std::string(", TLSv1.") + v[6] + ", Cipher is ";
        EXPECT_NE(r.output.find(version), std::string::npos) << version << "\n" << r.output;
    }
    // The client is allowed the old versions (security level 0); the server must refuse them.
    for (const char* v : {"-tls1", "-tls1_1"}) {
        const auto r = run_command(connect + " " + v + " -cipher 'DEFAULT:@SECLEVEL=0' </dev/null");
        EXPECT_NE(r.exit_code, 0) << v << "\n" << r.output;
        EXPECT_NE(r.output.find("alert protocol version"), std::string::npos) << v << "\n"
                                                                              << r.output;
    }
    // ALPN: http/1.1 when offered alongside h2.
    const auto a = run_command(connect + " -alpn h2,http/1.1 </dev/null");
    EXPECT_NE(a.output.find("ALPN protocol: http/1.1"), std::string::npos) << a.output;
}

TEST_F(Https, RedirectHttpsAndHsts) {
    start(http_tls(site_.dir, "redirect_https = on\nhsts = 8760h\n"));
    auto r = plain_get(site_.port, "/hello.txt?a=1", "www.test:" + std::to_string(site_.port));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 308);
    EXPECT_EQ(r->header("location"),
              "https://www.test:" + std::to_string(tls_port_) + "/hello.txt?a=1");
    EXPECT_FALSE(r->has("strict-transport-security")) << "never over plain HTTP";
    // An absolute-form target keeps its path.
    {
        Client c(site_.port);
        ASSERT_TRUE(c.send("GET http://www.test/a/b?c HTTP/1.1\r\nHost: www.test\r\n\r\n"));
        const auto got = c.read_responses(1);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].header("location"),
                  "https://www.test:" + std::to_string(tls_port_) + "/a/b?c");
    }
    // ACME HTTP-01 challenges stay on plain HTTP.
    site_.dir.write("www/.well-known/acme-challenge/token", "proof");
    r = plain_get(site_.port, "/.well-known/acme-challenge/token", "www.test");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "proof");
    const auto s = curl_https(site_.dir, tls_port_, "www.test", "/hello.txt");
    EXPECT_NE(s.output.find("Strict-Transport-Security: max-age=31536000\r\n"), std::string::npos)
        << s.output;
}

TEST_F(Https, GarbageAndPlainHttpOnTheTlsPortEndCleanly) {
    start(http_tls(site_.dir));
    for (const std::string& junk : {std::string("GET / HTTP/1.1\r\nHost: www.test\r\n\r\n"),
                                    std::string(3000, 'A'), sslv2_hello()}) {
        Client c(tls_port_);
        ASSERT_TRUE(c.connected());
        ASSERT_TRUE(c.send(junk));
        std::string back;
        EXPECT_TRUE(c.read_until_close(back, 5s)) << "the connection stayed open";
        EXPECT_EQ(back.find("HTTP/"), std::string::npos) << "plaintext went out: " << back;
    }
    // The workers are fine.
    EXPECT_EQ(served_serial(tls_port_, "www.test"), "0A");
    const auto r = curl_https(site_.dir, tls_port_, "www.test", "/hello.txt");
    EXPECT_NE(r.output.find("Hello, world!"), std::string::npos) << r.output;
}

TEST_F(Https, HeaderTimeoutCoversAnUnfinishedHandshake) {
    start(http_tls(site_.dir, "header_timeout = 1s\n"));
    // A handshake record that announces 5654 bytes and never sends them.
    Client c(tls_port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(std::string("\x16\x03\x01\x10\x00", 5) + std::string(50, '\x01')));
    const auto t0 = std::chrono::steady_clock::now();
    std::string back;
    EXPECT_TRUE(c.read_until_close(back, 5s)) << "not cut at header_timeout";
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 3s);
    // Others are served meanwhile and after.
    const auto r = curl_https(site_.dir, tls_port_, "www.test", "/hello.txt");
    EXPECT_NE(r.output.find("Hello, world!"), std::string::npos) << r.output;
}

TEST_F(Https, ReloadDrainsTlsKeepAliveConnectionsWithCloseNotify) {
    start(http_tls(site_.dir));
    const std::string get = "GET /hello.txt HTTP/1.1\r\nHost: www.test\r\n\r\n";
    TlsClient idle(tls_port_, site_.dir.file("ca.pem"), "www.test");
    TlsClient busy(tls_port_, site_.dir.file("ca.pem"), "www.test");
    ASSERT_TRUE(idle.ok() && busy.ok());
    for (TlsClient* c : {&idle, &busy}) {
        ASSERT_TRUE(c->send(get));
        const auto r = c->response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->body, "Hello, world!");
    }
    m_.signal(SIGHUP);
    // A connection that keeps asking is answered throughout; once its worker drains, the
    // answer says Connection: close and the connection ends after it.
    bool closing = false;
    for (int i = 0; i < 300 && !closing; ++i) {
        ASSERT_TRUE(busy.send(get));
        const auto r = busy.response();
        ASSERT_TRUE(r) << "request " << i << " failed\n" << m_.log();
        EXPECT_EQ(r->status, 200);
        closing = r->header("connection") == "close";
        if (!closing) std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(closing) << m_.log();
    bool clean = false;
    EXPECT_FALSE(busy.response(&clean));
    EXPECT_TRUE(clean) << "the connection ended without close_notify";
    // The idle one is closed after its grace, with close_notify.
    clean = false;
    EXPECT_FALSE(idle.response(&clean));
    EXPECT_TRUE(clean) << "the idle connection ended without close_notify";
}

TEST_F(Https, PlaintextOpenSslAlreadyDecryptedIsServedWithoutAnEpollEvent) {
    // Pipelined requests of 1000 bytes, 32768 bytes in all: exactly two 16 KiB records, whose
    // boundary splits a request. The second record does not fit the input space left after the
    // partial request, so OpenSSL keeps its last 384 bytes decrypted, with nothing left in the
    // kernel: only has_buffered_input() can bring them in. The responses (256 KiB each, to a
    // client with a small window) block, so the session stops reading between requests.
    std::string file(256 * 1024, 'f');
    site_.dir.write("www/f.bin", file);
    start(http_tls(site_.dir));
    TlsClient c(tls_port_, site_.dir.file("ca.pem"), "www.test", 16 * 1024);
    ASSERT_TRUE(c.ok());
    std::string burst;
    int n = 0;
    while (burst.size() < 32768) {
        const std::string head =
            "GET /f.bin?" + std::to_string(100 + n++) + " HTTP/1.1\r\nHost: www.test\r\nX-Pad: ";
        const size_t room = std::min<size_t>(1000, 32768 - burst.size());
        ASSERT_GT(room, head.size() + 4);
        burst += head + std::string(room - head.size() - 4, 'p') + "\r\n\r\n";
    }
    ASSERT_EQ(burst.size(), 32768u);
    ASSERT_TRUE(c.send(burst));
    for (int i = 0; i < n; ++i) {
        const auto r = c.response();
        ASSERT_TRUE(r) << "response " << i << " of " << n << " never came\n" << m_.log();
        EXPECT_EQ(r->body.size(), file.size());
    }
}

TEST_F(Https, OneMebibyteFileIsByteExact) {
    std::string big(1 << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
    site_.dir.write("www/big.bin", big);
    start(http_tls(site_.dir));
    const auto r = run_command(
        "curl -s --max-time 20 --cacert " + site_.dir.file("ca.pem") +
        " --resolve www.test:" + std::to_string(tls_port_) + ":127.0.0.1 -o " +
        site_.dir.file("got.bin") + " https://www.test:" + std::to_string(tls_port_) +
        "/big.bin && cmp " + site_.dir.file("got.bin") + " " + site_.dir.file("www/big.bin"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(Https, ReloadWithBrokenCertificatesFailsTruthfullyAndANewOneIsServed) {
    start(http_tls(site_.dir));
    const TempDir& d = site_.dir;
    // 1. A key file that cannot be read.
    ASSERT_EQ(run_command("mv " + d.file("www.key") + " " + d.file("www.key.saved")).exit_code, 0);
    std::string line = reload(1);
    EXPECT_NE(line.find("reload failed, generation 1 keeps serving: " + d.file("www.key") +
                        ": No such file or directory"),
              std::string::npos)
        << line << "\n"
        << m_.log();
    EXPECT_EQ(served_serial(tls_port_, "www.test"), "0A");
    // 2. A key that is not the certificate's.
    ASSERT_TRUE(pki_.leaf("other", "DNS:other.test", 99));
    ASSERT_EQ(run_command("cp " + d.file("other.key") + " " + d.file("www.key")).exit_code, 0);
    line = reload(2);
    EXPECT_NE(line.find(d.file("www.key") + ": the key does not match the certificate in " +
                        d.file("www.pem")),
              std::string::npos)
        << line;
    EXPECT_EQ(served_serial(tls_port_, "www.test"), "0A");
    // 3. A certificate file of garbage.
    ASSERT_EQ(run_command("mv " + d.file("www.key.saved") + " " + d.file("www.key") + " && cp " +
                          d.file("www.pem") + " " + d.file("www.pem.saved") +
                          " && echo garbage > " + d.file("www.pem"))
                  .exit_code,
              0);
    line = reload(3);
    EXPECT_NE(line.find(d.file("www.pem") + ": no PEM certificate could be read"),
              std::string::npos)
        << line;
    EXPECT_EQ(served_serial(tls_port_, "www.test"), "0A");
    // 4. A renewed certificate: the next generation serves its serial.
    ASSERT_TRUE(pki_.leaf("www", "DNS:www.test,DNS:localhost", 11));
    line = reload(4);
    EXPECT_NE(line.find("generation 2 is serving"), std::string::npos) << line << "\n" << m_.log();
    EXPECT_TRUE(eventually([&] { return served_serial(tls_port_, "www.test") == "0B"; }))
        << served_serial(tls_port_, "www.test");
}

TEST_F(Https, SystemdSocketNamedHttpsSpeaksTls) {
    // As minid.socket and minid-https.socket pass them: no listen_tls in the file.
    site_.write_config("", http_tls(site_.dir), 1);
    const std::string plain = "127.0.0.1:" + std::to_string(site_.port);
    const std::string tls = "127.0.0.1:" + std::to_string(tls_port_);
    ASSERT_TRUE(m_.start(
        {"-l", plain, "-l", tls, "--fdname=http:https", MINID_BINARY, "-c", site_.config_path},
        site_.log_path, {}, "/usr/bin/systemd-socket-activate"));
    ASSERT_TRUE(m_.wait_serving(site_.port)) << m_.log();
    EXPECT_EQ(served_serial(tls_port_, "www.test"), "0A") << m_.log();
    const auto r = curl_https(site_.dir, tls_port_, "www.test", "/hello.txt");
    EXPECT_NE(r.output.find("Hello, world!"), std::string::npos) << r.output;
    EXPECT_NE(m_.log().find("listening on " + tls + " (from systemd)"), std::string::npos)
        << m_.log();
}

TEST_F(Https, CheckConfigReadsTheCertificates) {
    site_.write_config(tls_config(tls_port_), http_tls(site_.dir), 1);
    auto r = run_command(std::string(MINID_BINARY) + " -t -c " + site_.config_path);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    // A site whose certificate does not name its hosts: valid, with a warning.
    site_.write_config(tls_config(tls_port_),
                       http_tls(site_.dir) + "\n[site shop]\nhosts = shop.test\nroot = " +
                           site_.root + "\ntls_certificate = " + site_.dir.file("blog.pem") +
                           "\ntls_key = " + site_.dir.file("blog.key") + "\n",
                       1);
    r = run_command(std::string(MINID_BINARY) + " -t -c " + site_.config_path);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("minid: warning: " + site_.dir.file("blog.pem") +
                            ": the certificate does not name host shop.test"),
              std::string::npos)
        << r.output;
    // TLS listener without a default certificate.
    site_.write_config(tls_config(tls_port_), "", 1);
    r = run_command(std::string(MINID_BINARY) + " -t -c " + site_.config_path);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("listen_tls needs a certificate for the default site"),
              std::string::npos)
        << r.output;
}

}  // namespace
}  // namespace minid::test
