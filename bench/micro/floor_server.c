// The floor under any HTTP/1.1 server on this kernel: a server that does only the syscalls a
// request needs (keep-alive: recv + send; a connection per request: accept4 + recv + send +
// close, under TCP_DEFER_ACCEPT as minid, with minid's two segment savings: the FIN rides on the
// response, the first ACK on the response) and answers minid's 229-byte response without parsing.
// Its CPU per request is what the kernel's loopback TCP costs; bench/NOTES.md compares it with
// the targets of issue 19. Not a web server: it assumes each request arrives whole in one read.
// Build and run: cc -O2 -o /tmp/floor_server bench/micro/floor_server.c
//                taskset -c 1 /tmp/floor_server PORT     (then wrk against http://127.0.0.1:PORT/)
#include "floor_common.h"

// Answers every request in buf; returns 0 to keep the connection, -1 to close it.
static int answer(int fd, const char* buf, size_t len) {
    int close_after = ends_connection(buf, len);
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
    int ep = -1;
    int lfd = listen_loopback(argv[1], &ep);
    if (lfd < 0) return 1;
    char buf[16384];
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
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
