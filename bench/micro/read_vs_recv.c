// Microbenchmark behind minid's use of recv() rather than read() for request bytes: the time of
// one 100-byte read on a loopback TCP socket, read() and recv() alternated in blocks.
// Build and run: cc -O2 -o /tmp/read_vs_recv bench/micro/read_vs_recv.c && taskset -c 1 /tmp/read_vs_recv
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(const char* what) {
    perror(what);
    return 1;
}

int main(void) {
    enum { kIterations = 200000, kRounds = 6 };
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr*)&a, &len) != 0)
        return fail("listen on 127.0.0.1");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr*)&a, sizeof a) != 0) return fail("connect");
    int s = accept(l, NULL, NULL);
    if (s < 0) return fail("accept");
    int one = 1;
    if (setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) return fail("TCP_NODELAY");

    char req[100], buf[16384];
    memset(req, 'x', sizeof req);
    double total[2] = {0, 0};
    for (int round = 0; round < kRounds; round++) {
        for (int mode = 0; mode < 2; mode++) {
            double t = 0;
            for (int i = 0; i < kIterations; i++) {
                if (send(c, req, sizeof req, 0) != (ssize_t)sizeof req) return fail("send");
                const double t0 = now();
                ssize_t n = mode ? recv(s, buf, sizeof buf, 0) : read(s, buf, sizeof buf);
                t += now() - t0;
                if (n != (ssize_t)sizeof req) return fail(mode ? "recv" : "read");
            }
            total[mode] += t;
            printf("round %d %s: %.3f us per call\n", round, mode ? "recv" : "read",
                   t / kIterations * 1e6);
        }
    }
    printf("mean: read %.3f us, recv %.3f us (both include two clock_gettime calls)\n",
           total[0] / (kRounds * kIterations) * 1e6, total[1] / (kRounds * kIterations) * 1e6);
    close(s);
    close(c);
    close(l);
    return 0;
}
