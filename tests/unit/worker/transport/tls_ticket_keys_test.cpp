// TlsTicketKeys over memory BIOs: a ticket issued by one SSL_CTX resumes on another that holds
// the same keys (as workers do with the master's), not on one with other keys; an older key
// still decrypts, a forgotten one does not; a bad payload changes nothing.
#include "worker/transport/tls_ticket_keys.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <string>

#include "tests/unit/worker/transport/test_certificate.hpp"
#include "worker/transport/tls_context.hpp"

namespace minid {
namespace {

constexpr const char* kCiphers = "ECDHE-ECDSA-AES128-GCM-SHA256";

struct SessionDeleter {
    void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionDeleter>;

class TlsTicketKeysTest : public ::testing::Test {
  protected:
    void SetUp() override {
        pair_ = testing::make_self_signed();
        client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
        ASSERT_TRUE(client_ctx_);
    }
    // A server context with its own certificate settings and `keys` installed.
    TlsContext server(TlsTicketKeys& keys) {
        TlsKeyPairText text{"cert.pem", "key.pem", pair_.cert_pem, pair_.key_pem};
        auto ctx = TlsContext::create({"TLSv1.2 TLSv1.3", kCiphers}, {&text, 1});
        EXPECT_TRUE(ctx.ok()) << ctx.error();
        EXPECT_TRUE(keys.install(ctx->get()).ok());
        return std::move(ctx).value();
    }
    // One connection offering `session` (may be null); `*out` gets the client's new session.
    // True when the server resumed.
    bool connect(const TlsContext& srv, int version, SSL_SESSION* session, SessionPtr* out) {
        SSL_CTX_set_min_proto_version(client_ctx_.get(), version);
        SSL_CTX_set_max_proto_version(client_ctx_.get(), version);
        SslPtr c(SSL_new(client_ctx_.get()));
        SslPtr s(SSL_new(srv.get()));
        BIO* cb = nullptr;
        BIO* sb = nullptr;
        EXPECT_EQ(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
        SSL_set_bio(c.get(), cb, cb);
        SSL_set_bio(s.get(), sb, sb);
        SSL_set_connect_state(c.get());
        SSL_set_accept_state(s.get());
        SSL_set_tlsext_host_name(c.get(), "localhost");
        if (session) SSL_set_session(c.get(), session);
        bool cdone = false, sdone = false;
        for (int i = 0; i < 50 && !(cdone && sdone); ++i) {
            if (!cdone) cdone = SSL_do_handshake(c.get()) == 1;
            if (!sdone) sdone = SSL_do_handshake(s.get()) == 1;
        }
        EXPECT_TRUE(cdone && sdone) << ssl_error_text("handshake");
        // TLS 1.3 tickets follow the handshake: one byte each way brings them in.
        char byte = 'x';
        size_t n = 0;
        EXPECT_EQ(SSL_write_ex(s.get(), &byte, 1, &n), 1);
        EXPECT_EQ(SSL_read_ex(c.get(), &byte, 1, &n), 1);
        if (out) out->reset(SSL_get1_session(c.get()));
        // As after close_notify: OpenSSL marks the session of a connection freed without one
        // as not resumable.
        SSL_set_shutdown(c.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        ERR_clear_error();
        return SSL_session_reused(s.get()) == 1;
    }

    testing::TestPair pair_;
    SslCtxPtr client_ctx_;
};

std::unique_ptr<TlsTicketKeys> make_keys() {
    auto k = TlsTicketKeys::create();
    EXPECT_TRUE(k.ok()) << k.error();
    return std::move(k).value();
}

TEST_F(TlsTicketKeysTest, ATicketResumesOnAnotherContextWithTheSameKeys) {
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        auto a_keys = make_keys();
        auto b_keys = make_keys();
        const std::string shared = encode_session_ticket_keys(a_keys->keys());
        ASSERT_TRUE(b_keys->replace(shared).ok());
        EXPECT_TRUE(b_keys->from_master());
        const TlsContext a = server(*a_keys);
        const TlsContext b = server(*b_keys);
        SessionPtr session;
        EXPECT_FALSE(connect(a, version, nullptr, &session));
        ASSERT_TRUE(session);
        EXPECT_TRUE(connect(b, version, session.get(), nullptr)) << version;
        EXPECT_TRUE(connect(a, version, session.get(), nullptr)) << version;

        auto other = make_keys();  // a worker that never got the master's keys
        const TlsContext c = server(*other);
        EXPECT_FALSE(connect(c, version, session.get(), nullptr)) << version;
    }
}

TEST_F(TlsTicketKeysTest, AnOlderKeyStillDecryptsAForgottenOneDoesNot) {
    auto keys = make_keys();
    const TlsContext srv = server(*keys);
    SessionPtr session;
    connect(srv, TLS1_3_VERSION, nullptr, &session);
    ASSERT_TRUE(session);
    const SessionTicketKey old = keys->keys().front();
    auto fresh = random_session_ticket_key();
    ASSERT_TRUE(fresh.ok());
    // Rotated: the new key encrypts, the old one decrypts, and the client gets a new ticket.
    ASSERT_TRUE(keys->replace(encode_session_ticket_keys({*fresh, old})).ok());
    SessionPtr renewed;
    EXPECT_TRUE(connect(srv, TLS1_3_VERSION, session.get(), &renewed));
    // The old key forgotten: the first ticket no longer resumes, the renewed one does.
    ASSERT_TRUE(keys->replace(encode_session_ticket_keys({*fresh})).ok());
    EXPECT_FALSE(connect(srv, TLS1_3_VERSION, session.get(), nullptr));
    ASSERT_TRUE(renewed);
    EXPECT_TRUE(connect(srv, TLS1_3_VERSION, renewed.get(), nullptr));
}

TEST_F(TlsTicketKeysTest, ABadPayloadChangesNothing) {
    auto keys = make_keys();
    const auto before = keys->keys();
    const auto st = keys->replace("\x01short");
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("session-ticket keys: 6 bytes for 1 keys, expected 81"),
              std::string::npos)
        << st.error();
    EXPECT_EQ(keys->keys(), before);
    EXPECT_FALSE(keys->from_master());
}

}  // namespace
}  // namespace minid
