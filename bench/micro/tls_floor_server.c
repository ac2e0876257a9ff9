// The floor under any HTTPS server with OpenSSL on this machine: floor_server.c over TLS. It
// does only what a request needs (the handshake, one SSL_read and one SSL_write per request,
// close_notify and close at the end) with minid's OpenSSL settings (TLS 1.2 and 1.3, X25519,
// P-256 and P-384, session tickets, released buffers, read-ahead) and answers minid's 229-byte
// response without parsing. bench/NOTES.md compares its CPU with issue 16's targets. Not a web
// server: it assumes a request arrives whole in one record.
// Build: cc -O2 -o /tmp/tls_floor_server bench/micro/tls_floor_server.c -lssl -lcrypto
// Run:   taskset -c 1 /tmp/tls_floor_server PORT CERT.pem KEY.pem
// First: it defines _GNU_SOURCE before any system header.
#include "floor_common.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

enum { kMaxFd = 65536 };
static SSL* g_ssl[kMaxFd];
static unsigned g_events[kMaxFd];

static int fail(const char* what) {
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    ERR_print_errors_fp(stderr);
    return 1;
}

static void finish(int ep, int fd) {
    SSL* ssl = g_ssl[fd];
    if (ssl != NULL) {
        if (SSL_is_init_finished(ssl)) SSL_shutdown(ssl);  // close_notify, as minid sends
        SSL_free(ssl);
        g_ssl[fd] = NULL;
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    g_events[fd] = 0;
    close(fd);
}

static void want(int ep, int fd, unsigned events) {
    if (g_events[fd] == events) return;
    struct epoll_event ev = {.events = events, .data.fd = fd};
    epoll_ctl(ep, g_events[fd] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    g_events[fd] = events;
}

// Reads and answers what the connection has; returns once it would block or is gone.
static void serve(int ep, int fd) {
    static char buf[16384];
    SSL* ssl = g_ssl[fd];
    for (;;) {
        size_t got = 0;
        if (SSL_read_ex(ssl, buf, sizeof buf, &got) != 1) {
            int err = SSL_get_error(ssl, 0);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                want(ep, fd, err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
                return;
            }
            if (err != SSL_ERROR_ZERO_RETURN) SSL_set_quiet_shutdown(ssl, 1);
            finish(ep, fd);
            return;
        }
        int close_after = ends_connection(buf, got);
        size_t sent = 0;
        // One small response always fits the socket buffer on loopback: a blocked write is a
        // failure here, which a real server would have to finish later.
        if (SSL_write_ex(ssl, kResponse, sizeof kResponse - 1, &sent) != 1 || close_after) {
            finish(ep, fd);
            return;
        }
        if (SSL_has_pending(ssl) == 0) {
            want(ep, fd, EPOLLIN);
            return;
        }
    }
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT CERT.pem KEY.pem\n", argv[0]);
        return 2;
    }
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1)
        return fail("SSL_CTX setup");
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // tickets only, as minid

    int ep = -1;
    int lfd = listen_loopback(argv[1], &ep);
    if (lfd < 0) return 1;
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        if (n < 0 && errno != EINTR) return fail("epoll_wait");
        for (int i = 0; i < n; ++i) {
            int fd = evs[i].data.fd;
            if (fd != lfd) {
                serve(ep, fd);
                continue;
            }
            int c;
            while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (c >= kMaxFd) {
                    close(c);
                    continue;
                }
                if ((g_ssl[c] = SSL_new(ctx)) == NULL || !SSL_set_fd(g_ssl[c], c)) {
                    finish(ep, c);
                    continue;
                }
                SSL_set_accept_state(g_ssl[c]);
                serve(ep, c);  // the ClientHello is there under TCP_DEFER_ACCEPT
            }
        }
    }
}
