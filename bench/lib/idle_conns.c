// Idle keep-alive client for the bench's "idle" load: opens COUNT connections, sends one GET on
// each, reads the whole response, then holds every connection open (idle) until SIGTERM/SIGINT
// or HOLD seconds, noting connections the server closes meanwhile. Compiled by bench/run.sh.
//
// usage: idle_conns HOST PORT PATH COUNT HOLD_SECONDS
// prints: READY opened=N ok=N failed=N timeouts=N non200=N seconds=S   (once all are set up)
//         DONE alive=N closed_by_server=N                               (at the end)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { FREE, CONNECTING, WAITING, IDLE, DEAD };

struct conn {
    int fd;
    enum state state;
    double started;
    size_t got;
    char buf[2048];
};

// Connections in CONNECTING/WAITING at once: keeps the server's accept queue from overflowing.
static const int kWindow = 64;
static const double kResponseTimeout = 5.0;
static const double kSetupTimeout = 120.0;

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// 1 when buf holds a whole response (head + Content-Length body), 0 if not yet, -1 if malformed.
static int response_complete(const struct conn *c, int *status) {
    const char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
    if (!end) return c->got >= sizeof c->buf ? -1 : 0;
    if (sscanf(c->buf, "HTTP/1.%*d %d", status) != 1) return -1;
    size_t head = (size_t)(end - c->buf) + 4;
    long length = 0;
    for (const char *p = c->buf; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
        if (*p == '\n') p++;
        if (strncasecmp(p, "Content-Length:", 15) == 0) length = strtol(p + 15, NULL, 10);
    }
    return c->got >= head + (size_t)length ? 1 : 0;
}

// An idle connection became readable: the server closed it (or sent something unasked).
static int idle_closed(int ep, struct conn *c) {
    char scratch[512];
    ssize_t r = read(c->fd, scratch, sizeof scratch);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->state = DEAD;
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT PATH COUNT HOLD_SECONDS\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *path = argv[3];
    int port = atoi(argv[2]), count = atoi(argv[4]);
    double hold = atof(argv[5]);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)count + 16) {
            fprintf(stderr, "idle_conns: open-file limit %lu is below %d connections\n",
                    (unsigned long)rl.rlim_cur, count);
            return 1;
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;  // no SA_RESTART: epoll_wait returns EINTR
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "idle_conns: bad IPv4 address %s\n", host);
        return 2;
    }
    char request[512];
    int request_len = snprintf(request, sizeof request,
                               "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: bench-idle\r\n\r\n",
                               path, host, port);

    struct conn *conns = calloc((size_t)count, sizeof *conns);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || ep < 0) {
        perror("idle_conns: setup");
        return 1;
    }
    int next = 0, in_flight = 0, ok = 0, failed = 0, timeouts = 0, non200 = 0;
    int oldest = 0, closed_by_server = 0;  // oldest: lowest index that may still be in flight
    double t0 = now();
    struct epoll_event events[256];

    // Phase 1: set up every connection, at most kWindow in flight.
    while (!g_stop && ok + failed + timeouts < count && now() - t0 < kSetupTimeout) {
        while (in_flight < kWindow && next < count) {
            struct conn *c = &conns[next];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            c->started = now();
            if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 &&
                              errno != EINPROGRESS)) {
                if (c->fd >= 0) close(c->fd);
                c->state = DEAD;
                failed++;
                next++;
                continue;
            }
            c->state = CONNECTING;
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)next};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            in_flight++;
            next++;
        }
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = &conns[events[i].data.u32];
            if (c->state == IDLE) {
                closed_by_server += idle_closed(ep, c);
            } else if (c->state == CONNECTING && (events[i].events & EPOLLOUT)) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err || write(c->fd, request, (size_t)request_len) != request_len) {
                    close(c->fd);
                    c->state = DEAD;
                    failed++;
                    in_flight--;
                    continue;
                }
                c->state = WAITING;
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = events[i].data.u32};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            } else if (c->state == WAITING && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) {
                ssize_t r = read(c->fd, c->buf + c->got, sizeof c->buf - c->got);
                int status = 0, done = 0;
                if (r > 0) {
                    c->got += (size_t)r;
                    done = response_complete(c, &status);
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    done = -1;
                }
                if (done == 0) continue;
                in_flight--;
                if (done < 0) {
                    close(c->fd);
                    c->state = DEAD;
                    failed++;
                    continue;
                }
                if (status != 200) non200++;
                c->state = IDLE;
                ok++;
            }
        }
        // Responses that never come (server at its connection limit): give up on those sockets.
        double t = now();
        while (oldest < next && conns[oldest].state != CONNECTING && conns[oldest].state != WAITING) oldest++;
        for (int i = oldest; i < next; i++) {
            struct conn *c = &conns[i];
            if ((c->state == CONNECTING || c->state == WAITING) && t - c->started > kResponseTimeout) {
                close(c->fd);
                c->state = DEAD;
                timeouts++;
                in_flight--;
            }
        }
    }
    printf("READY opened=%d ok=%d failed=%d timeouts=%d non200=%d seconds=%.2f\n", next, ok, failed,
           timeouts, non200, now() - t0);
    fflush(stdout);

    // Phase 2: hold; a readable idle socket means the server closed it (or sent junk).
    double hold_start = now();
    while (!g_stop && now() - hold_start < hold) {
        int n = epoll_wait(ep, events, 256, 200);
        for (int i = 0; i < n; i++) {
            struct conn *c = &conns[events[i].data.u32];
            if (c->state == IDLE) closed_by_server += idle_closed(ep, c);
        }
    }
    int alive = 0;
    for (int i = 0; i < count; i++) {
        if (conns[i].state == IDLE) alive++;
        if (conns[i].state != FREE && conns[i].state != DEAD) close(conns[i].fd);
    }
    printf("DONE alive=%d closed_by_server=%d\n", alive, closed_by_server);
    fflush(stdout);
    free(conns);
    close(ep);
    return 0;
}
