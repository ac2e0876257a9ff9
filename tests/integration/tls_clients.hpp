// TLS test helpers: a test CA and its leaves (made with the openssl command), the serial a
// server shows, curl over https, and a blocking OpenSSL keep-alive client.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "integration/harness.hpp"

namespace minid::test {

// A test CA and leaves it signs, as files in `dir`.
class TestPki {
  public:
    explicit TestPki(const TempDir& dir) : dir_(dir) {
        const auto r =
            run_command("cd " + dir_.path() +
                        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                        "-keyout ca.key -out ca.pem -days 2 -subj /CN=minid-test-CA");
        ok_ = r.exit_code == 0;
        EXPECT_TRUE(ok_) << r.output;
    }
    // NAME.pem (leaf, then the CA: a chain in order) and NAME.key, for `dns` names, with
    // `serial`; `rsa` for an RSA-2048 key instead of ECDSA P-256.
    bool leaf(const std::string& name, const std::string& dns, int serial, bool rsa = false) {
        const std::string key_opts =
            rsa ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
        const auto r = run_command(
            "cd " + dir_.path() + " && openssl req " + key_opts + " -nodes -keyout " + name +
            ".key -out " + name + ".csr -subj /CN=" + name + " && printf 'subjectAltName=" + dns +
            "\\n' > " + name + ".ext && openssl x509 -req -in " + name +
            ".csr -CA ca.pem -CAkey ca.key -set_serial " + std::to_string(serial) +
            " -days 1 -extfile " + name + ".ext -out " + name + ".leaf && cat " + name +
            ".leaf ca.pem > " + name + ".pem");
        EXPECT_EQ(r.exit_code, 0) << r.output;
        return r.exit_code == 0;
    }
    bool ok() const { return ok_; }

  private:
    const TempDir& dir_;
    bool ok_ = false;
};

// The serial of the certificate the server shows for `sni` ("" = no SNI), e.g. "0A".
// `site`'s config with a TLS listener on `tls_port` and www.pem/www.key (TestPki::leaf) for the
// default site; `extra_server` and `extra_http` go to [server] and [http].
inline void write_tls_config(Site& site, uint16_t tls_port, const std::string& extra_server,
                             const std::string& extra_http, int workers) {
    site.write_config("listen_tls = 127.0.0.1:" + std::to_string(tls_port) + "\n" + extra_server,
                      "tls_certificate = " + site.dir.file("www.pem") +
                          "\ntls_key = " + site.dir.file("www.key") + "\n" + extra_http,
                      workers);
}

// How often `what` occurs in `text` (log lines).
inline size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// A fixture's TearDown: a running minid stops on SIGTERM with status 0 and a clean log.
inline void stop_expecting_a_clean_exit(MinidProcess& m) {
    if (!m.running()) return;
    m.signal(SIGTERM);
    const int st = m.wait_exit();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << "\n" << m.log();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

inline std::string served_serial(uint16_t port, const std::string& sni) {
    const std::string name = sni.empty() ? "-noservername" : "-servername " + sni;
    const auto r = run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " +
                               name + " </dev/null 2>/dev/null | openssl x509 -noout -serial");
    const auto eq = r.output.find("serial=");
    if (r.exit_code != 0 || eq == std::string::npos) return "none: " + r.output;
    std::string s = r.output.substr(eq + 7);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// curl over https with the test CA: "STATUS" then the headers and body as curl -i prints them.
inline CommandResult curl_https(const TempDir& dir, uint16_t port, const std::string& name,
                                const std::string& target, const std::string& extra = "") {
    return run_command("curl -s -i --max-time 10 --cacert " + dir.file("ca.pem") + " --resolve " +
                       name + ":" + std::to_string(port) + ":127.0.0.1 " + extra + " https://" +
                       name + ":" + std::to_string(port) + target);
}

// A blocking TLS keep-alive client (OpenSSL), for what curl cannot show: close_notify, and
// requests on one connection across a reload.
class TlsClient {
  public:
    // `rcvbuf` > 0: a small receive window, so the server's writes block.
    TlsClient(uint16_t port, const std::string& ca, const std::string& sni, int rcvbuf = 0) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
        fd_ = connect_tcp(port, "127.0.0.1", rcvbuf);
        if (fd_ < 0) return;
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        SSL_set_tlsext_host_name(ssl_, sni.c_str());
        SSL_set1_host(ssl_, sni.c_str());
        ok_ = SSL_connect(ssl_) == 1;
        ERR_clear_error();
    }
    ~TlsClient() {
        if (ssl_) SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
        SSL_CTX_free(ctx_);
    }
    bool ok() const { return ok_; }
    bool send(const std::string& s) {
        size_t n = 0;
        return SSL_write_ex(ssl_, s.data(), s.size(), &n) == 1 && n == s.size();
    }
    // One response, or nullopt when the connection ended first (`*closed_cleanly`: with
    // close_notify).
    // Plaintext as it comes, for bodies too large to hold: first what response() left over.
    // 0 at the end of the connection (or a 5 s stall).
    size_t read_some(char* out, size_t len) {
        if (!buf_.empty()) {
            const size_t n = std::min(len, buf_.size());
            std::memcpy(out, buf_.data(), n);
            buf_.erase(0, n);
            return n;
        }
        size_t n = 0;
        if (SSL_read_ex(ssl_, out, len, &n) != 1) {
            ERR_clear_error();
            return 0;
        }
        return n;
    }
    // Reads up to the end of a response head; the body's first bytes stay for read_some().
    std::optional<HttpResponse> head() {
        for (;;) {
            const size_t end = buf_.find("\r\n\r\n");
            if (end != std::string::npos) {
                HttpResponse r;
                std::string h = buf_.substr(0, end + 4);
                buf_.erase(0, end + 4);
                parse_response(h, r, true);
                return r;
            }
            char tmp[16384];
            size_t n = 0;
            if (SSL_read_ex(ssl_, tmp, sizeof tmp, &n) != 1) {
                ERR_clear_error();
                return std::nullopt;
            }
            buf_.append(tmp, n);
        }
    }
    std::optional<HttpResponse> response(bool* closed_cleanly = nullptr) {
        for (;;) {
            HttpResponse r;
            if (const size_t used = parse_response(buf_, r)) {
                buf_.erase(0, used);
                return r;
            }
            char tmp[16384];
            size_t n = 0;
            if (SSL_read_ex(ssl_, tmp, sizeof tmp, &n) != 1) {
                if (closed_cleanly)
                    *closed_cleanly = SSL_get_error(ssl_, 0) == SSL_ERROR_ZERO_RETURN;
                ERR_clear_error();
                return std::nullopt;
            }
            buf_.append(tmp, n);
        }
    }

  private:
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    bool ok_ = false;
    std::string buf_;
};

}  // namespace minid::test
