// The floor under any HTTP/1.1 server on this kernel: a server that does only the syscalls a
// request needs (keep-alive: recv + send; a connection per request: accept4 + recv + send +
// close, under TCP_DEFER_ACCEPT as minid, with minid's two segment savings: the FIN rides on the
// response, the first ACK on the response) and answers minid's 229-byte response without parsing.
// Its CPU per request is what the kernel's loopback TCP costs; bench/NOTES.md compares it with
// the targets of issue 19. Not a web server: it assumes each request arrives whole in one read.
// Build and run: cc -O2 -o /tmp/floor_server bench/micro/floor_server.c
//                taskset -c 1 /tmp/floor_server PORT     (then wrk against http://127.0.0.1:PORT/)
#define _GNU_SOURCE  // memmem, accept4
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char kResponse[] =
    "HTTP/1.1 200 OK\r\nServer: minid\r\nDate: Mon, 07 Dec 2026 19:50:36 GMT\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n"
    "Last-Modified: Mon, 07 Dec 2026 18:57:47 GMT\r\nETag: \"6b1701ab-d\"\r\n"
    "Accept-Ranges: bytes\r\n\r\nHello, world!";

static int fail(const char* what) {
    perror(what);
    return 1;
}

// Answers every request in buf; returns 0 to keep the connection, -1 to close it.
static int answer(int fd, const char* buf, size_t len) {
    // ab's HTTP/1.0 requests without keep-alive end the connection too.
    int close_after = memmem(buf, len, "Connection: close", 17) != NULL ||
                      (memmem(buf, len, " HTTP/1.0\r\n", 11) != NULL &&
                       memmem(buf, len, "Keep-Alive", 10) == NULL);
    for (const char* at = buf; (at = memmem(at, len - (size_t)(at - buf), "\r\n\r\n", 4));
         at += 4) {
        // MSG_MORE before a close: the kernel puts the FIN on the response's segment.
        if (send(fd, kResponse, sizeof kResponse - 1, MSG_NOSIGNAL | (close_after ? MSG_MORE : 0)) <
            0)
            return -1;
    }
    return close_after ? -1 : 0;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0) return fail("socket");
    int one = 1, defer = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer) != 0)
        return fail("TCP_DEFER_ACCEPT");
    // Accepted sockets inherit both, as minid's do: no setsockopt per connection. Quick-ACK
    // off: the first request's ACK waits for the response instead of a segment of its own.
    int zero = 0;
    if (setsockopt(lfd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero) != 0)
        return fail("TCP_QUICKACK");
    if (setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return fail("TCP_NODELAY");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr*)&a, sizeof a) != 0) return fail("bind");
    if (listen(lfd, 4096) != 0) return fail("listen");
    int ep = epoll_create1(0);
    if (ep < 0) return fail("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) return fail("epoll_ctl");
    char buf[16384];
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        if (n < 0 && errno != EINTR) return fail("epoll_wait");
        for (int i = 0; i < n; ++i) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    // Data is there under TCP_DEFER_ACCEPT: answer before registering.
                    ssize_t got = recv(c, buf, sizeof buf, 0);
                    if (got > 0 && answer(c, buf, (size_t)got) < 0) {
                        close(c);
                        continue;
                    }
                    if (got == 0 || (got < 0 && errno != EAGAIN)) {
                        close(c);
                        continue;
                    }
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) != 0) close(c);
                }
                continue;
            }
            ssize_t got = recv(fd, buf, sizeof buf, 0);
            if (got < 0 && errno == EAGAIN) continue;
            if (got <= 0 || answer(fd, buf, (size_t)got) < 0) close(fd);
        }
    }
}
