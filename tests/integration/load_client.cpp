// LoadClient implementation: blocking sockets, one thread per connection (tests use a few dozen).
#include "integration/load_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

int connect_to(uint16_t port) {
    const int fd = connect_tcp(port);
    if (fd < 0) return -1;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

enum class Outcome { ok, ok_closing, failed };

// Sends one request and reads one response on fd; says whether the server will close.
Outcome exchange(int fd, const std::string& req, const std::string& expected, std::string& why) {
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        why = std::string("send: ") + strerror(errno);
        return Outcome::failed;
    }
    std::string buf;
    for (;;) {
        HttpResponse r;
        if (size_t used = parse_response(buf, r)) {
            (void)used;
            if (r.status != 200 || r.body != expected) {
                why = "unexpected response: " + r.status_line;
                return Outcome::failed;
            }
            return r.header("connection") == "close" ? Outcome::ok_closing : Outcome::ok;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10000) <= 0) {
            why = "timeout waiting for a response";
            return Outcome::failed;
        }
        char tmp[8192];
        ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) {
            why = n == 0 ? "connection closed before a response (" + std::to_string(buf.size()) +
                               " bytes read)"
                         : std::string("recv: ") + strerror(errno);
            return Outcome::failed;
        }
        buf.append(tmp, static_cast<size_t>(n));
    }
}

}  // namespace

LoadClient::LoadClient(uint16_t port, std::string target, std::string expected_body,
                       int keepalive_conns, int fresh_conns)
    : port_(port),
      target_(std::move(target)),
      expected_(std::move(expected_body)),
      keepalive_(keepalive_conns),
      fresh_(fresh_conns) {}

LoadClient::~LoadClient() {
    stop_ = true;
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void LoadClient::start() {
    for (int i = 0; i < keepalive_; ++i) threads_.emplace_back([this] { run_keepalive(); });
    for (int i = 0; i < fresh_; ++i) threads_.emplace_back([this] { run_fresh(); });
}

LoadResult LoadClient::stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
    LoadResult r;
    r.ok = ok_;
    r.failed = failed_;
    r.connect_errors = connect_errors_;
    r.first_errors = errors_;
    return r;
}

void LoadClient::record_error(const std::string& what) {
    while (errors_lock_.test_and_set()) {
    }
    if (errors_.size() < 10) errors_.push_back(what);
    errors_lock_.clear();
}

void LoadClient::run_keepalive() {
    const std::string req = "GET " + target_ + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    int fd = -1;
    while (!stop_) {
        if (fd < 0) {
            fd = connect_to(port_);
            if (fd < 0) {
                ++connect_errors_;
                record_error(std::string("connect: ") + strerror(errno));
                usleep(10000);
                continue;
            }
        }
        std::string why;
        switch (exchange(fd, req, expected_, why)) {
            case Outcome::ok:
                ++ok_;
                break;
            case Outcome::ok_closing:
                ++ok_;
                ::close(fd);
                fd = -1;
                break;
            case Outcome::failed:
                ++failed_;
                record_error("keep-alive: " + why);
                ::close(fd);
                fd = -1;
                break;
        }
    }
    if (fd >= 0) ::close(fd);
}

void LoadClient::run_fresh() {
    const std::string req =
        "GET " + target_ + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    while (!stop_) {
        int fd = connect_to(port_);
        if (fd < 0) {
            ++connect_errors_;
            record_error(std::string("connect: ") + strerror(errno));
            usleep(10000);
            continue;
        }
        std::string why;
        if (exchange(fd, req, expected_, why) == Outcome::failed) {
            ++failed_;
            record_error("fresh: " + why);
        } else {
            ++ok_;
        }
        ::close(fd);
    }
}

}  // namespace minid::test
