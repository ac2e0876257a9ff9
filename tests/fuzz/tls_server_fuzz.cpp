// Fuzz target: the server side of a TLS connection as a worker sets it up (TlsContext: Mozilla
// intermediate policy, ALPN, read-ahead, released buffers; TlsTicketKeys: the master's ticket
// keys and the ticket callback), over memory BIOs, with the client's bytes from the fuzzer.
// Input: one mode byte, then data.
// - Mode bit 0 clear: the data is everything a client sends (ClientHello, records, garbage), in
//   pieces whose sizes come from the mode byte; the server reads after each piece.
// - Mode bit 0 set: a real OpenSSL client completes a handshake first (bit 1: TLS 1.2, else 1.3;
//   bit 2: resuming with a ticket the server issued), then the data goes in raw after it, as
//   further record bytes: the record layer after the handshake, decryption and alerts.
// Checks: nothing out of bounds (ASan), reads never claim more than the buffer, and the error
// queue is always drained (a stale error would be blamed on the next connection).
// Set MINID_FUZZ_WRITE_SEEDS=DIR to write ClientHellos (1.2, 1.3, and one with a ticket) as
// seeds for mode 0 and exit.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "tests/unit/worker/transport/test_certificate.hpp"
#include "worker/transport/tls_context.hpp"
#include "worker/transport/tls_ticket_keys.hpp"

namespace {

using namespace minid;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
}

struct Server {
    std::unique_ptr<TlsTicketKeys> keys;
    std::optional<TlsContext> ctx;
    SslCtxPtr client_ctx;
    SSL_SESSION* session13 = nullptr;  // a ticket from this server, for resumption
    SSL_SESSION* session12 = nullptr;
};

// Client and server joined by a BIO pair; `drive` runs both handshakes to completion.
struct Pair {
    SslPtr client;
    SslPtr server;
    BIO* client_bio = nullptr;  // the client's end, for raw bytes
};

Pair make_pair(Server& s, int version, SSL_SESSION* session) {
    Pair p;
    p.server.reset(SSL_new(s.ctx->get()));
    p.client.reset(SSL_new(s.client_ctx.get()));
    BIO* sb = nullptr;
    BIO_new_bio_pair(&p.client_bio, 0, &sb, 0);
    SSL_set_bio(p.server.get(), sb, sb);
    SSL_set_bio(p.client.get(), p.client_bio, p.client_bio);
    SSL_set_accept_state(p.server.get());
    SSL_set_connect_state(p.client.get());
    SSL_set_min_proto_version(p.client.get(), version);
    SSL_set_max_proto_version(p.client.get(), version);
    SSL_set_tlsext_host_name(p.client.get(), "localhost");
    if (session) SSL_set_session(p.client.get(), session);
    return p;
}

bool handshake(Pair& p) {
    bool c = false, s = false;
    for (int i = 0; i < 20 && !(c && s); ++i) {
        if (!c) c = SSL_do_handshake(p.client.get()) == 1;
        if (!s) s = SSL_do_handshake(p.server.get()) == 1;
    }
    // TLS 1.3 tickets follow the handshake: a byte each way brings them to the client.
    char b = 'x';
    size_t n = 0;
    if (c && s && SSL_write_ex(p.server.get(), &b, 1, &n) == 1)
        SSL_read_ex(p.client.get(), &b, 1, &n);
    ERR_clear_error();
    return c && s;
}

Server& server() {
    static Server* s = [] {
        auto* srv = new Server;
        auto keys = TlsTicketKeys::create();
        if (!keys) fail("TlsTicketKeys::create");
        srv->keys = std::move(keys).value();
        // Fixed keys, as from the master, so committed seeds with tickets stay valid.
        SessionTicketKey k;
        for (size_t i = 0; i < k.name.size(); ++i) k.name[i] = static_cast<uint8_t>(i);
        for (size_t i = 0; i < k.aes.size(); ++i) k.aes[i] = static_cast<uint8_t>(0x40 + i);
        for (size_t i = 0; i < k.hmac.size(); ++i) k.hmac[i] = static_cast<uint8_t>(0x80 + i);
        if (!srv->keys->replace(encode_session_ticket_keys({k}))) fail("ticket keys");
        const auto pair = testing::make_self_signed();
        TlsKeyPairText text{"cert.pem", "key.pem", pair.cert_pem, pair.key_pem};
        auto ctx =
            TlsContext::create({"TLSv1.2 TLSv1.3",
                                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-CHACHA20-POLY1305"},
                               {&text, 1});
        if (!ctx) fail("TlsContext::create");
        srv->ctx.emplace(std::move(ctx).value());
        if (!srv->keys->install(srv->ctx->get())) fail("install ticket keys");
        srv->client_ctx.reset(SSL_CTX_new(TLS_client_method()));
        static const unsigned char alpn[] = "\x08http/1.1";
        SSL_CTX_set_alpn_protos(srv->client_ctx.get(), alpn, sizeof alpn - 1);
        for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
            Pair p = make_pair(*srv, v, nullptr);
            if (!handshake(p)) fail("setup handshake");
            (v == TLS1_3_VERSION ? srv->session13 : srv->session12) =
                SSL_get1_session(p.client.get());
            // A session freed without close_notify would be marked not resumable.
            SSL_set_shutdown(p.client.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        }
        return srv;
    }();
    return *s;
}

// Reads what the server can get now; checks the lengths it reports.
void server_reads(SSL* ssl) {
    char buf[512];
    for (int i = 0; i < 64; ++i) {
        size_t n = 0;
        if (SSL_read_ex(ssl, buf, sizeof buf, &n) != 1) break;
        if (n == 0 || n > sizeof buf) fail("SSL_read_ex claimed an impossible length");
    }
    ERR_clear_error();
    if (ERR_peek_error() != 0) fail("error queue not drained");
}

void write_seeds(const char* dir) {
    Server& s = server();
    int i = 0;
    auto hello = [&](int version, SSL_SESSION* session) {
        Pair p = make_pair(s, version, session);
        SSL_do_handshake(p.client.get());  // writes the ClientHello into the pair
        std::string bytes(BIO_ctrl_pending(SSL_get_rbio(p.server.get())), '\0');
        BIO_read(SSL_get_rbio(p.server.get()), bytes.data(), static_cast<int>(bytes.size()));
        std::ofstream(std::string(dir) + "/hello" + std::to_string(i++), std::ios::binary)
            << '\x00' << bytes;
    };
    hello(TLS1_3_VERSION, nullptr);
    hello(TLS1_2_VERSION, nullptr);
    hello(TLS1_3_VERSION, s.session13);
    hello(TLS1_2_VERSION, s.session12);
    std::exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = std::getenv("MINID_FUZZ_WRITE_SEEDS")) write_seeds(dir);
    server();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    Server& s = server();
    const uint8_t mode = data[0];
    const char* bytes = reinterpret_cast<const char*>(data + 1);
    size_t left = size - 1;
    if ((mode & 1) == 0) {
        // Raw client bytes in pieces of 1..64 times a step from the mode byte.
        SslPtr ssl(SSL_new(s.ctx->get()));
        BIO* in = BIO_new(BIO_s_mem());
        BIO* out = BIO_new(BIO_s_mem());
        SSL_set_bio(ssl.get(), in, out);
        SSL_set_accept_state(ssl.get());
        const size_t step = 1 + (mode >> 1);
        while (left > 0) {
            const size_t piece = std::min(left, step * 5);
            BIO_write(in, bytes, static_cast<int>(piece));
            bytes += piece;
            left -= piece;
            server_reads(ssl.get());
            (void)BIO_reset(out);  // the server's flights go nowhere
        }
        BIO_set_mem_eof_return(in, 0);  // then the client's end of input
        server_reads(ssl.get());
        return 0;
    }
    const int version = (mode & 2) ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_SESSION* session =
        (mode & 4) ? (version == TLS1_3_VERSION ? s.session13 : s.session12) : nullptr;
    Pair p = make_pair(s, version, session);
    if (!handshake(p)) fail("handshake with a real client");
    SSL_set_shutdown(p.client.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);  // keep the ticket
    // Half the data as application data through the client, the rest raw after it.
    const size_t plain = (mode & 8) ? left / 2 : 0;
    size_t n = 0;
    // The client may refuse (the pair's buffer is full of the server's unread flight); then
    // only the raw bytes go in.
    if (plain > 0) SSL_write_ex(p.client.get(), bytes, plain, &n);
    ERR_clear_error();
    server_reads(p.server.get());
    BIO_write(p.client_bio, bytes + plain, static_cast<int>(left - plain));
    server_reads(p.server.get());
    ERR_clear_error();
    return 0;
}
