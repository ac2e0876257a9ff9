// FakeUpstream: blocking sockets with poll() timeouts, so every thread notices stop_ quickly.
#include "integration/fake_upstream.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace minid::test {
namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Waits up to `ms` for `fd` to be readable; false on timeout.
bool wait_readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
}

bool send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

std::string UpstreamRequest::header(const std::string& name) const {
    for (const auto& [n, v] : headers)
        if (lower(n) == lower(name)) return v;
    return "";
}

size_t UpstreamRequest::count(const std::string& name) const {
    return static_cast<size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& h) {
        return lower(h.first) == lower(name);
    }));
}

UpstreamReply UpstreamReply::ok(const std::string& body, const std::string& extra_headers) {
    return raw("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
               extra_headers + "\r\n" + body);
}

UpstreamReply UpstreamReply::raw(std::string bytes, bool close) {
    UpstreamReply r;
    r.pieces.push_back({std::chrono::milliseconds(0), std::move(bytes)});
    r.close = close;
    return r;
}

FakeUpstream::FakeUpstream(Responder responder, const std::string& unix_path, uint16_t port)
    : responder_(std::move(responder)), unix_path_(unix_path) {
    if (!unix_path.empty()) {
        listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, unix_path.c_str(), sizeof a.sun_path - 1);
        ::unlink(unix_path.c_str());
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(listen_fd_);
            listen_fd_ = -1;
            return;
        }
    } else {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(listen_fd_);
            listen_fd_ = -1;
            return;
        }
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ::listen(listen_fd_, 128);
    acceptor_ = std::thread([this] { accept_loop(); });
}

FakeUpstream::~FakeUpstream() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& t : workers_) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

std::string FakeUpstream::address() const {
    if (!unix_path_.empty()) return "unix:" + unix_path_;
    return "127.0.0.1:" + std::to_string(port_);
}

void FakeUpstream::stop_listening() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

std::vector<UpstreamRequest> FakeUpstream::requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
}

size_t FakeUpstream::request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
}

void FakeUpstream::accept_loop() {
    while (!stop_) {
        if (!wait_readable(listen_fd_, 20)) continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        const int n = ++connections_;
        workers_.emplace_back([this, fd, n] { serve(fd, n); });
    }
}

void FakeUpstream::serve(int fd, int connection) {
    std::string buf;
    auto idle_since = std::chrono::steady_clock::now();
    while (!stop_) {
        // A complete head in buf?
        const size_t end = buf.find("\r\n\r\n");
        if (end == std::string::npos) {
            const int64_t idle = idle_timeout_ms_.load();
            if (idle > 0 && buf.empty() &&
                std::chrono::steady_clock::now() - idle_since >= std::chrono::milliseconds(idle))
                break;
            if (!wait_readable(fd, 10)) continue;
            char tmp[65536];
            const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
            if (n <= 0) break;
            buf.append(tmp, static_cast<size_t>(n));
            continue;
        }
        UpstreamRequest req;
        req.connection = connection;
        req.raw_head = buf.substr(0, end + 4);
        const std::string head = buf.substr(0, end);
        size_t line_end = head.find("\r\n");
        const std::string request_line = head.substr(0, line_end);
        const size_t sp1 = request_line.find(' ');
        const size_t sp2 = request_line.rfind(' ');
        req.method = request_line.substr(0, sp1);
        req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            size_t e = head.find("\r\n", pos);
            if (e == std::string::npos) e = head.size();
            const std::string line = head.substr(pos, e - pos);
            const size_t colon = line.find(':');
            std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            req.headers.emplace_back(line.substr(0, colon), value);
            pos = e + 2;
        }
        size_t length = 0;
        const std::string cl = req.header("content-length");
        if (!cl.empty()) length = std::stoul(cl);
        buf.erase(0, end + 4);
        if (answer_before_body_) {
            {
                std::lock_guard<std::mutex> lock(mu_);
                requests_.push_back(req);
            }
            const UpstreamReply reply = responder_(req);
            for (const UpstreamReply::Piece& p : reply.pieces) {
                if (p.delay.count() > 0) std::this_thread::sleep_for(p.delay);
                if (!send_all(fd, p.bytes)) break;
            }
            while (!reply.close && !stop_)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            break;
        }
        bool cut = false;
        while (buf.size() < length && !stop_) {
            if (!wait_readable(fd, 10)) continue;
            char tmp[65536];
            const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
            if (n <= 0) {
                cut = true;
                break;
            }
            buf.append(tmp, static_cast<size_t>(n));
        }
        if (cut || stop_) break;
        req.body = buf.substr(0, length);
        buf.erase(0, length);
        {
            std::lock_guard<std::mutex> lock(mu_);
            requests_.push_back(req);
        }
        const UpstreamReply reply = responder_(req);
        bool ok = true;
        for (const UpstreamReply::Piece& p : reply.pieces) {
            if (p.delay.count() > 0) std::this_thread::sleep_for(p.delay);
            if (!send_all(fd, p.bytes)) {
                ok = false;
                break;
            }
        }
        if (!ok || reply.close) break;
        idle_since = std::chrono::steady_clock::now();
    }
    ::close(fd);
}

}  // namespace minid::test
