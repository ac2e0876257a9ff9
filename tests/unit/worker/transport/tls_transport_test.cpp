// TlsTransport over a socketpair, against an OpenSSL client in the same thread: the handshake
// inside reads, one-record writes with the small-record ramp, blocked writes (WANT_WRITE) and
// reads that must write (the handshake flight), decrypted input epoll cannot see, files,
// close_notify, and refused old protocols and garbage.
#include "worker/transport/tls_transport.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/stats_segment.hpp"
#include "tests/unit/worker/transport/test_certificate.hpp"
#include "worker/transport/tls_context.hpp"

namespace minid {
namespace {

using testing::CertOptions;
using testing::make_self_signed;

constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct NullWatcher : IoPoller::Watcher {
    void on_io(uint32_t) noexcept override {}
};

class TlsTransportTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ::signal(SIGPIPE, SIG_IGN);
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        auto p = IoPoller::create(&loop_, std::chrono::microseconds(0));
        ASSERT_TRUE(p.ok()) << p.error();
        poller_ = std::move(p).value();
    }
    void TearDown() override {
        server_.reset();
        client_.reset();
        client_ctx_.reset();
        poller_.reset();
        EXPECT_EQ(uv_loop_close(&loop_), 0);
    }

    // A server transport with a certificate for `names`, and a client SSL on the other end.
    void connect(const CertOptions& cert = {}, int client_max_version = 0,
                 const std::string& protocols = "TLSv1.2 TLSv1.3") {
        const auto pair = make_self_signed(cert);
        TlsKeyPairText text{"cert.pem", "key.pem", pair.cert_pem, pair.key_pem};
        auto ctx = TlsContext::create({protocols, kCiphers}, {&text, 1});
        ASSERT_TRUE(ctx.ok()) << ctx.error();
        server_ctx_.emplace(std::move(ctx).value());
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        server_fd_ = fds[0];
        client_fd_.reset(fds[1]);
        UniqueFd sfd(fds[0]);
        server_ = TlsTransport::create(sfd, server_ctx_->get(), *poller_, watcher_, &slot_);
        ASSERT_TRUE(server_);
        client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
        ASSERT_TRUE(client_ctx_);
        SSL_CTX_set_min_proto_version(client_ctx_.get(), TLS1_VERSION);
        SSL_CTX_set_security_level(client_ctx_.get(), 0);  // let the client offer TLS 1.0/1.1
        if (client_max_version)
            SSL_CTX_set_max_proto_version(client_ctx_.get(), client_max_version);
        static const unsigned char alpn[] = "\x02h2\x08http/1.1";
        SSL_CTX_set_alpn_protos(client_ctx_.get(), alpn, sizeof alpn - 1);
        client_.reset(SSL_new(client_ctx_.get()));
        SSL_set_fd(client_.get(), client_fd_.get());
        SSL_set_tlsext_host_name(client_.get(), "localhost");
        SSL_set_connect_state(client_.get());
    }

    // Runs the handshake: client steps and server reads in turn. True once both are done.
    bool handshake(IoResult* last_server_read = nullptr) {
        char buf[64];
        for (int i = 0; i < 50; ++i) {
            const int rc = SSL_do_handshake(client_.get());
            const IoResult r = server_->read(buf, sizeof buf);
            if (last_server_read) *last_server_read = r;
            if (r.kind == IoResult::Kind::failed || r.kind == IoResult::Kind::eof) return false;
            if (rc == 1 && server_->handshake_done()) return true;
            if (rc != 1) {
                const int e = SSL_get_error(client_.get(), rc);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                    ERR_clear_error();
                    return false;
                }
            }
        }
        return false;
    }

    void client_send(const std::string& s) {
        size_t n = 0;
        ASSERT_EQ(SSL_write_ex(client_.get(), s.data(), s.size(), &n), 1);
        ASSERT_EQ(n, s.size());
    }

    // Reads what the client can get now (plaintext).
    std::string client_drain() {
        std::string out;
        char buf[16384];
        for (;;) {
            size_t n = 0;
            if (SSL_read_ex(client_.get(), buf, sizeof buf, &n) != 1) break;
            out.append(buf, n);
        }
        ERR_clear_error();
        return out;
    }

    // Reads what the server can get now.
    std::string server_drain() {
        std::string out;
        char buf[4096];
        for (int i = 0; i < 1000; ++i) {
            const IoResult r = server_->read(buf, sizeof buf);
            if (r.kind != IoResult::Kind::done) break;
            out.append(buf, r.bytes);
        }
        return out;
    }

    uint64_t failures(TlsFailure kind) const {
        return slot_.tls_failures[static_cast<size_t>(kind)].load();
    }
    uint64_t all_failures() const {
        uint64_t n = 0;
        for (const auto& f : slot_.tls_failures) n += f.load();
        return n;
    }

    WorkerSlot slot_{};
    uv_loop_t loop_{};
    std::unique_ptr<IoPoller> poller_;
    NullWatcher watcher_;
    std::optional<TlsContext> server_ctx_;
    std::unique_ptr<TlsTransport> server_;
    int server_fd_ = -1;
    UniqueFd client_fd_;
    SslCtxPtr client_ctx_;
    SslPtr client_;
};

TEST_F(TlsTransportTest, HandshakeInsideReadsThenRequestAndResponse) {
    connect();
    ASSERT_TRUE(handshake());
    EXPECT_STREQ(SSL_get_version(client_.get()), "TLSv1.3");
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(client_.get(), &alpn, &alpn_len);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(alpn), alpn_len), "http/1.1");

    client_send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    EXPECT_EQ(server_drain(), "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    // Head and body in one write: one record, all taken.
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    std::string body = "hello";
    iovec iov[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
    const IoResult w = server_->write(iov, 2, false);
    ASSERT_EQ(w.kind, IoResult::Kind::done);
    EXPECT_EQ(w.bytes, head.size() + body.size());
    EXPECT_EQ(client_drain(), head + body);
}

TEST_F(TlsTransportTest, HandshakesAreCountedOnceByOutcome) {
    connect();
    ASSERT_TRUE(handshake());
    EXPECT_EQ(slot_.tls_handshakes.load(), 1u);
    server_drain();
    server_->close();
    EXPECT_EQ(slot_.tls_handshakes.load(), 1u) << "counted once";
    EXPECT_EQ(slot_.tls_resumed.load(), 0u);
    EXPECT_EQ(all_failures(), 0u);

    connect({}, TLS1_1_VERSION);
    EXPECT_FALSE(handshake());
    server_->close();
    EXPECT_EQ(failures(TlsFailure::version), 1u);

    connect();
    const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(client_fd_.get(), req.data(), req.size(), 0),
              static_cast<ssize_t>(req.size()));
    char buf[64];
    EXPECT_EQ(server_->read(buf, sizeof buf).kind, IoResult::Kind::failed);
    server_->close();
    EXPECT_EQ(failures(TlsFailure::not_tls), 1u);

    connect();  // the client leaves before its hello
    client_fd_.reset();
    EXPECT_EQ(server_->read(buf, sizeof buf).kind, IoResult::Kind::eof);
    server_->close();
    EXPECT_EQ(failures(TlsFailure::closed), 1u);

    connect();  // header_timeout ran out
    server_->note_handshake_timeout();
    server_.reset();
    EXPECT_EQ(failures(TlsFailure::timeout), 1u);
    EXPECT_EQ(all_failures(), 4u);
    EXPECT_EQ(slot_.tls_handshakes.load(), 1u);
}

TEST_F(TlsTransportTest, Tls12AlsoWorks) {
    connect({}, TLS1_2_VERSION);
    ASSERT_TRUE(handshake());
    EXPECT_STREQ(SSL_get_version(client_.get()), "TLSv1.2");
    // ECDHE with an AEAD cipher only.
    const std::string cipher = SSL_get_cipher_name(client_.get());
    EXPECT_EQ(cipher.rfind("ECDHE-", 0), 0u) << cipher;
    EXPECT_NE(cipher.find("GCM"), std::string::npos) << cipher;
}

TEST_F(TlsTransportTest, OldProtocolsAreRefused) {
    for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
        connect({}, version);
        IoResult last{};
        EXPECT_FALSE(handshake(&last)) << version;
        EXPECT_EQ(last.kind, IoResult::Kind::failed) << version;
        EXPECT_EQ(ERR_peek_error(), 0u) << "stale OpenSSL error left in the queue";
    }
}

TEST_F(TlsTransportTest, Tls13OnlyPolicyRefusesTls12) {
    connect({}, TLS1_2_VERSION, "TLSv1.3");
    EXPECT_FALSE(handshake());
}

TEST_F(TlsTransportTest, PlainHttpOnTheTlsPortFailsWithoutPlaintextReply) {
    connect();
    const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(client_fd_.get(), req.data(), req.size(), 0),
              static_cast<ssize_t>(req.size()));
    char buf[256];
    const IoResult r = server_->read(buf, sizeof buf);
    EXPECT_EQ(r.kind, IoResult::Kind::failed);
    EXPECT_EQ(ERR_peek_error(), 0u);
    server_->close();
    std::string back;
    for (;;) {
        const ssize_t n = ::recv(client_fd_.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        back.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(back.find("HTTP"), std::string::npos) << "a plaintext answer went out";
    // At most a TLS alert record (type 21).
    if (!back.empty()) {
        EXPECT_EQ(static_cast<unsigned char>(back[0]), 21);
    }
}

TEST_F(TlsTransportTest, WriteBeforeTheHandshakeWaitsForReadability) {
    connect();
    // SSL_write on a server that has no ClientHello yet needs to read first: the write's
    // watch must be EPOLLIN, not EPOLLOUT.
    char data[] = "x";
    iovec iov{data, 1};
    EXPECT_EQ(server_->write(&iov, 1, false).kind, IoResult::Kind::would_block);
    ASSERT_TRUE(server_->watch(Transport::Want::write).ok());
    EXPECT_EQ(server_->watched_events(), static_cast<uint32_t>(EPOLLIN));
    ASSERT_TRUE(handshake());
    // Once a write went through, it watches writability again.
    const IoResult w = server_->write(&iov, 1, false);
    EXPECT_EQ(w.kind, IoResult::Kind::done);
    ASSERT_TRUE(server_->watch(Transport::Want::write).ok());
    EXPECT_EQ(server_->watched_events(), static_cast<uint32_t>(EPOLLOUT));
    EXPECT_EQ(client_drain(), "x");
}

TEST_F(TlsTransportTest, HandshakeFlightThatDoesNotFitWaitsForWritability) {
    // A certificate of about 40 KiB cannot leave a small send buffer in one go: the server's
    // read (which runs the handshake) must wait for EPOLLOUT.
    CertOptions big;
    for (int i = 0; i < 800; ++i)
        big.dns_names.push_back("name-" + std::to_string(i) + ".a-rather-long-domain.example");
    connect(big);
    const int small = 4096;
    ASSERT_EQ(::setsockopt(server_fd_, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    ASSERT_TRUE(server_->watch(Transport::Want::read).ok());
    EXPECT_EQ(server_->watched_events(), static_cast<uint32_t>(EPOLLIN));
    bool saw_write_wait = false;
    char buf[64];
    for (int i = 0; i < 2000 && !(server_->handshake_done() && SSL_is_init_finished(client_.get()));
         ++i) {
        SSL_do_handshake(client_.get());
        ERR_clear_error();
        const IoResult r = server_->read(buf, sizeof buf);
        ASSERT_NE(r.kind, IoResult::Kind::failed);
        if (server_->watched_events() == static_cast<uint32_t>(EPOLLOUT)) saw_write_wait = true;
    }
    EXPECT_TRUE(saw_write_wait);
    EXPECT_TRUE(server_->handshake_done());
    EXPECT_EQ(server_->watched_events(), static_cast<uint32_t>(EPOLLIN));
}

TEST_F(TlsTransportTest, DecryptedInputBeyondTheBufferIsAnnounced) {
    connect();
    ASSERT_TRUE(handshake());
    const std::string two = std::string(3000, 'a') + std::string(3000, 'b');
    client_send(two);  // one record
    char buf[1000];
    IoResult r = server_->read(buf, sizeof buf);
    ASSERT_EQ(r.kind, IoResult::Kind::done);
    EXPECT_EQ(r.bytes, sizeof buf);
    // The rest is decrypted inside OpenSSL, and the socket is empty: epoll would never say so.
    char probe;
    EXPECT_EQ(::recv(server_fd_, &probe, 1, MSG_PEEK), -1);
    EXPECT_TRUE(server_->has_buffered_input());
    std::string got(buf, r.bytes);
    got += server_drain();
    EXPECT_EQ(got, two);
    EXPECT_FALSE(server_->has_buffered_input());
}

TEST_F(TlsTransportTest, ReadAheadRecordsAreAnnouncedButAnIncompleteOneIsNot) {
    connect();
    ASSERT_TRUE(handshake());
    // The client's records go to memory, so the test decides how much of them arrives.
    BIO* mem = BIO_new(BIO_s_mem());
    SSL_set0_wbio(client_.get(), mem);
    client_send(std::string(3000, 'a'));
    client_send(std::string(3000, 'b'));
    char* data = nullptr;
    const long total = BIO_get_mem_data(mem, &data);
    const std::string records(data, static_cast<size_t>(total));
    ASSERT_GT(records.size(), 6000u);
    const size_t first = records.size() / 2 + 40;  // the first record and part of the second
    ASSERT_EQ(::send(client_fd_.get(), records.data(), first, 0), static_cast<ssize_t>(first));

    char buf[16384];
    IoResult r = server_->read(buf, sizeof buf);
    ASSERT_EQ(r.kind, IoResult::Kind::done);
    EXPECT_EQ(std::string(buf, r.bytes), std::string(3000, 'a'));
    // OpenSSL read ahead into the second record; it may be complete, so look once more...
    EXPECT_TRUE(server_->has_buffered_input());
    EXPECT_EQ(server_->read(buf, sizeof buf).kind, IoResult::Kind::would_block);
    // ...but an incomplete record is not announced again: the session would spin on it.
    EXPECT_FALSE(server_->has_buffered_input());
    const size_t rest = records.size() - first;
    ASSERT_EQ(::send(client_fd_.get(), records.data() + first, rest, 0),
              static_cast<ssize_t>(rest));
    r = server_->read(buf, sizeof buf);
    ASSERT_EQ(r.kind, IoResult::Kind::done);
    EXPECT_EQ(std::string(buf, r.bytes), std::string(3000, 'b'));
    EXPECT_FALSE(server_->has_buffered_input());
}

TEST_F(TlsTransportTest, LargeWriteRampsFromSmallRecordsAndSurvivesAFullSocket) {
    connect();
    ASSERT_TRUE(handshake());
    std::string body(1 << 20, '\0');
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
    size_t off = 0;
    std::string received;
    std::vector<size_t> sizes;
    int blocked = 0;
    for (int rounds = 0; off < body.size() && rounds < 100000; ++rounds) {
        iovec iov{body.data() + off, body.size() - off};
        const IoResult w = server_->write(&iov, 1, false);
        if (w.kind == IoResult::Kind::would_block) {
            ++blocked;
            ASSERT_TRUE(server_->watch(Transport::Want::write).ok());
            EXPECT_EQ(server_->watched_events(), static_cast<uint32_t>(EPOLLOUT));
            received += client_drain();
            continue;
        }
        ASSERT_EQ(w.kind, IoResult::Kind::done);
        sizes.push_back(w.bytes);
        off += w.bytes;
    }
    received += client_drain();
    EXPECT_GT(blocked, 0) << "the socket never filled: the test did not exercise WANT_WRITE";
    ASSERT_EQ(received.size(), body.size());
    EXPECT_TRUE(received == body);
    ASSERT_FALSE(sizes.empty());
    EXPECT_EQ(sizes.front(), TlsTransport::kSmallRecord);
    ASSERT_GT(sizes.size(), 12u);
    for (size_t i = 0; i < 11; ++i)
        EXPECT_EQ(sizes[i], TlsTransport::kSmallRecord * (i + 1)) << "record " << i;
    EXPECT_EQ(sizes[11], TlsTransport::kFullRecord);
    EXPECT_EQ(sizes.back() <= TlsTransport::kFullRecord, true);
    EXPECT_EQ(sizes[sizes.size() / 2], TlsTransport::kFullRecord);
    // A new request starts the ramp again.
    client_send("next");
    EXPECT_EQ(server_drain(), "next");
    std::string big(20000, 'z');
    iovec again{big.data(), big.size()};
    const IoResult w = server_->write(&again, 1, false);
    ASSERT_EQ(w.kind, IoResult::Kind::done);
    EXPECT_EQ(w.bytes, TlsTransport::kSmallRecord);
}

TEST_F(TlsTransportTest, SendFileIsByteExact) {
    connect();
    ASSERT_TRUE(handshake());
    char path[] = "/tmp/minid-tls-file-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    UniqueFd file(fd);
    ::unlink(path);
    std::string content(300'000, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 % 251);
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    const uint64_t start = 1000;
    uint64_t off = start;
    std::string received;
    for (int rounds = 0; off < content.size() && rounds < 100000; ++rounds) {
        const IoResult w = server_->send_file(fd, off, content.size() - off);
        if (w.kind == IoResult::Kind::would_block) {
            received += client_drain();
            continue;
        }
        ASSERT_EQ(w.kind, IoResult::Kind::done);
        off += w.bytes;
    }
    received += client_drain();
    EXPECT_TRUE(received == content.substr(start));
    // Past the end of the file: it shrank.
    EXPECT_EQ(server_->send_file(fd, content.size(), 10).kind, IoResult::Kind::eof);
}

TEST_F(TlsTransportTest, ShutdownSendsCloseNotifyThenFin) {
    connect();
    ASSERT_TRUE(handshake());
    ASSERT_TRUE(server_->shutdown_write());
    char buf[16];
    size_t n = 0;
    EXPECT_EQ(SSL_read_ex(client_.get(), buf, sizeof buf, &n), 0);
    EXPECT_EQ(SSL_get_error(client_.get(), 0), SSL_ERROR_ZERO_RETURN);
    EXPECT_EQ(::recv(client_fd_.get(), buf, sizeof buf, 0), 0);  // then the FIN
    // The client's close_notify ends the server's input.
    SSL_shutdown(client_.get());
    char sbuf[16];
    EXPECT_EQ(server_->read(sbuf, sizeof sbuf).kind, IoResult::Kind::eof);
}

TEST_F(TlsTransportTest, CloseSendsCloseNotifyButAbortDoesNot) {
    connect();
    ASSERT_TRUE(handshake());
    server_->close();
    char buf[16];
    size_t n = 0;
    EXPECT_EQ(SSL_read_ex(client_.get(), buf, sizeof buf, &n), 0);
    EXPECT_EQ(SSL_get_error(client_.get(), 0), SSL_ERROR_ZERO_RETURN);

    connect();
    ASSERT_TRUE(handshake());
    server_->abort();
    server_->close();
    EXPECT_EQ(SSL_read_ex(client_.get(), buf, sizeof buf, &n), 0);
    EXPECT_NE(SSL_get_error(client_.get(), 0), SSL_ERROR_ZERO_RETURN);
    ERR_clear_error();
}

TEST_F(TlsTransportTest, PeerFinWithoutCloseNotifyIsEndOfInput) {
    connect();
    ASSERT_TRUE(handshake());
    ::shutdown(client_fd_.get(), SHUT_WR);
    char buf[16];
    EXPECT_EQ(server_->read(buf, sizeof buf).kind, IoResult::Kind::eof);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace minid
