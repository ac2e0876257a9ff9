// NotifySocket implementation (AF_UNIX datagrams with SO_PASSCRED, like systemd's).
#include "integration/notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace minid::test {

NotifySocket::NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strncpy(un.sun_path, path_.c_str(), sizeof un.sun_path - 1);
    ::unlink(path_.c_str());
    ::bind(fd_, reinterpret_cast<sockaddr*>(&un), sizeof un);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
}

NotifySocket::~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
}

void NotifySocket::collect(std::chrono::milliseconds timeout, const std::string& until) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
        char data[4096];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
        iovec iov{data, sizeof data};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(fd_, &msg, 0);
        if (n < 0) return;
        NotifyMessage m;
        m.text.assign(data, static_cast<size_t>(n));
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                ucred cred;
                std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
                m.pid = cred.pid;
            }
        }
        messages_.push_back(m);
        if (!until.empty() && m.text.find(until) != std::string::npos) return;
    }
}

size_t NotifySocket::count(const std::string& needle) const {
    size_t n = 0;
    for (const auto& m : messages_)
        if (m.text.find(needle) != std::string::npos) ++n;
    return n;
}

std::vector<std::string> NotifySocket::kinds() const {
    std::vector<std::string> out;
    for (const auto& m : messages_) {
        std::string first = m.text.substr(0, m.text.find('\n'));
        if (first.rfind("STATUS=", 0) == 0 || first.rfind("EXTEND_TIMEOUT", 0) == 0 ||
            first.rfind("WATCHDOG", 0) == 0)
            continue;
        out.push_back(first);
    }
    return out;
}

}  // namespace minid::test
