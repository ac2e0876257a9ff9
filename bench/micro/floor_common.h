// What floor_server.c and tls_floor_server.c share: minid's 229-byte response, when a request
// ends its connection, and a loopback listener with minid's socket options in an epoll set.
#pragma once

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

// "Connection: close", or an HTTP/1.0 request without keep-alive (ab, openssl s_time).
static int ends_connection(const char* buf, size_t len) {
    return memmem(buf, len, "Connection: close", 17) != NULL ||
           (memmem(buf, len, " HTTP/1.0\r\n", 11) != NULL &&
            memmem(buf, len, "Keep-Alive", 10) == NULL);
}

// A non-blocking listener on 127.0.0.1:port with minid's options, in a new epoll set (*ep);
// -1 (after perror) on failure. Accepted sockets inherit the options, as minid's do: no
// setsockopt per connection. TCP_DEFER_ACCEPT: a connection is accepted with its request
// already there. Quick-ACK off: the first request's ACK waits for the response.
static int listen_loopback(const char* port, int* ep) {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1, zero = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof one) != 0 ||
        setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        setsockopt(lfd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero) != 0 ||
        bind(lfd, (struct sockaddr*)&a, sizeof a) != 0 || listen(lfd, 4096) != 0 ||
        (*ep = epoll_create1(0)) < 0 || epoll_ctl(*ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
        perror("loopback listener");
        return -1;
    }
    return lfd;
}
