// Where an idle TLS connection's memory goes inside OpenSSL: N server connections with minid's
// SSL_CTX settings (worker/transport/tls_context.cpp) each finish a handshake and one
// request/response over a socketpair, then sit idle (the last read wants more bytes); the
// clients are freed and every allocation OpenSSL still holds is listed by its source line, per
// connection. It shows what minid cannot shed through OpenSSL's API while a connection is idle.
//
//   cc -O2 -o /tmp/tls_idle_memory bench/micro/tls_idle_memory.c -lssl -lcrypto
//   /tmp/tls_idle_memory [tls1.2] [free-buffers]
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kConns = 200, kTable = 1 << 20 };

// Live allocations of OpenSSL (CRYPTO_set_mem_functions), with where they were made.
struct alloc {
    void* ptr;
    size_t size;
    const char* file;
    int line;
    int phase;
};
static struct alloc g_live[kTable];
static int g_phase;

static size_t slot_of(const void* p) {
    return ((uintptr_t)p >> 4) * 2654435761u % kTable;
}
static void track(void* p, size_t n, const char* file, int line) {
    if (!p) return;
    size_t i = slot_of(p);
    while (g_live[i].ptr) i = (i + 1) % kTable;
    g_live[i] = (struct alloc){p, n, file, line, g_phase};
}
static void untrack(void* p) {
    if (!p) return;
    size_t i = slot_of(p);
    while (g_live[i].ptr && g_live[i].ptr != p) i = (i + 1) % kTable;
    if (!g_live[i].ptr) return;
    g_live[i].ptr = NULL;
    // Re-insert the rest of the cluster (open addressing with linear probing).
    for (size_t j = (i + 1) % kTable; g_live[j].ptr; j = (j + 1) % kTable) {
        struct alloc a = g_live[j];
        g_live[j].ptr = NULL;
        size_t k = slot_of(a.ptr);
        while (g_live[k].ptr) k = (k + 1) % kTable;
        g_live[k] = a;
    }
}
static void* my_malloc(size_t n, const char* file, int line) {
    void* p = malloc(n);
    track(p, n, file, line);
    return p;
}
static void* my_realloc(void* old, size_t n, const char* file, int line) {
    untrack(old);
    void* p = realloc(old, n);
    track(p, n, file, line);
    return p;
}
static void my_free(void* p, const char* file, int line) {
    (void)file;
    (void)line;
    untrack(p);
    free(p);
}

static void die(const char* what) {
    fprintf(stderr, "%s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

// minid's server context: tls_context.cpp's options, modes and groups, an ECDSA P-256 key.
static SSL_CTX* server_ctx(int tls12_only) {
    SSL_CTX* c = SSL_CTX_new(TLS_server_method());
    if (!c) die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(c, tls12_only ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_options(
        c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(c, 1);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1) die("groups");
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    if (!key || !cert) die("key");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char*)"localhost", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_set_pubkey(cert, key);
    if (!X509_sign(cert, key, EVP_sha256())) die("X509_sign");
    if (SSL_CTX_use_certificate(c, cert) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1)
        die("certificate");
    X509_free(cert);
    EVP_PKEY_free(key);
    return c;
}

static void exchange(SSL* client, SSL* server) {
    static const char request[] = "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
    static const char response[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";
    char buf[4096];
    size_t n;
    for (int i = 0; i < 20 && !(SSL_is_init_finished(client) && SSL_is_init_finished(server));
         i++) {
        SSL_do_handshake(client);
        SSL_do_handshake(server);
    }
    if (!SSL_is_init_finished(server)) die("handshake");
    if (!SSL_write_ex(client, request, sizeof request - 1, &n)) die("client write");
    if (!SSL_read_ex(server, buf, sizeof buf, &n)) die("server read");
    if (!SSL_write_ex(server, response, sizeof response - 1, &n)) die("server write");
    for (int i = 0; i < 5 && !SSL_read_ex(client, buf, sizeof buf, &n); i++) {
    }
    // The server's next read finds nothing: the state of an idle keep-alive connection.
    if (SSL_read_ex(server, buf, sizeof buf, &n) || SSL_get_error(server, 0) != SSL_ERROR_WANT_READ)
        die("idle read");
}

struct site {
    const char* file;
    int line;
    size_t bytes;
    int count;
};
static int by_bytes(const void* a, const void* b) {
    const struct site *x = a, *y = b;
    return (y->bytes > x->bytes) - (y->bytes < x->bytes);
}

int main(int argc, char** argv) {
    int tls12 = 0, free_buffers = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "tls1.2") == 0)
            tls12 = 1;
        else if (strcmp(argv[i], "free-buffers") == 0)
            free_buffers = 1;
        else {
            fprintf(stderr, "usage: %s [tls1.2] [free-buffers]\n", argv[0]);
            return 2;
        }
    }
    if (!CRYPTO_set_mem_functions(my_malloc, my_realloc, my_free)) die("CRYPTO_set_mem_functions");
    SSL_CTX* sctx = server_ctx(tls12);
    SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
    static SSL *server[kConns], *client[kConns];
    static int fds[kConns][2];
    // Round 0 warms OpenSSL's lazily built tables; round 1 is measured.
    for (int round = 0; round < 2; round++) {
        g_phase = round + 1;
        for (int i = 0; i < kConns; i++) {
            if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]) != 0) die("socketpair");
            fcntl(fds[i][0], F_SETFL, O_NONBLOCK);
            fcntl(fds[i][1], F_SETFL, O_NONBLOCK);
            server[i] = SSL_new(sctx);
            client[i] = SSL_new(cctx);
            if (!server[i] || !client[i]) die("SSL_new");
            SSL_set_fd(server[i], fds[i][0]);
            SSL_set_accept_state(server[i]);
            SSL_set_fd(client[i], fds[i][1]);
            SSL_set_connect_state(client[i]);
            exchange(client[i], server[i]);
            if (free_buffers) SSL_free_buffers(server[i]);
            SSL_free(client[i]);
        }
        if (round == 1) {
            static struct site sites[4096];
            int n = 0;
            size_t total = 0;
            for (size_t i = 0; i < kTable; i++) {
                const struct alloc* a = &g_live[i];
                if (!a->ptr || a->phase != 2) continue;
                int k = 0;
                while (k < n && !(sites[k].line == a->line && strcmp(sites[k].file, a->file) == 0))
                    k++;
                if (k == n && n < 4096) sites[n++] = (struct site){a->file, a->line, 0, 0};
                if (k < n) {
                    sites[k].bytes += a->size;
                    sites[k].count++;
                }
                total += a->size;
            }
            qsort(sites, (size_t)n, sizeof sites[0], by_bytes);
            printf("%s, %s: %zu bytes per idle server connection held by OpenSSL %s\n",
                   SSL_get_version(server[0]), SSL_get_cipher_name(server[0]), total / kConns,
                   OpenSSL_version(OPENSSL_VERSION_STRING));
            for (int k = 0; k < n && sites[k].bytes / kConns >= 16; k++)
                printf("  %6zu B in %4.1f allocations  %s:%d\n", sites[k].bytes / kConns,
                       (double)sites[k].count / kConns, sites[k].file, sites[k].line);
        }
        for (int i = 0; i < kConns; i++) {
            SSL_free(server[i]);
            close(fds[i][0]);
            close(fds[i][1]);
        }
    }
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return 0;
}
