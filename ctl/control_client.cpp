// ControlClient implementation over a non-blocking socket and poll().
#include "ctl/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/log.hpp"

namespace minid::ctl {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int remaining_ms(Deadline deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

Failure connect_failure(const std::string& path, int err) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
            return {kExitNotRunning,
                    "minid is not running: no control socket at " + path +
                        " (or minid runs with another control_socket; see --control and -c)"};
        case ECONNREFUSED:
            return {kExitNotRunning, "minid is not running: nothing accepts connections on " +
                                         path + " (a stale socket from a minid that died)"};
        case EACCES:
        case EPERM:
            return {kExitPermission,
                    "permission denied on " + path +
                        ": run as root or as a member of minid's control_socket_group"};
        case ENOTSOCK:
            return {kExitNotRunning, path + " is not a socket"};
        default:
            return {kExitNotRunning, sys_error("connect", path, err)};
    }
}

}  // namespace

Expected<ControlClient> ControlClient::connect(const std::string& path, Deadline deadline) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path)
        return Failure{kExitUsage, "control socket path is too long: " + path};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    for (;;) {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd) return Failure{kExitFailed, sys_error("socket", "AF_UNIX", errno)};
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
            return ControlClient(std::move(fd), path);
        const int err = errno;
        // A unix socket connect never goes "in progress"; EAGAIN means the master's accept
        // backlog is full right now: it is alive, so try again until the deadline.
        if (err == EAGAIN || err == EINTR) {
            if (remaining_ms(deadline) == 0)
                return Failure{kExitTimeout,
                               "minid did not accept a connection on " + path + " in time"};
            std::this_thread::sleep_for(10ms);
            continue;
        }
        return connect_failure(path, err);
    }
}

std::optional<Failure> ControlClient::wait_for(short events, Deadline deadline, const char* what) {
    for (;;) {
        pollfd p{fd_.get(), events, 0};
        const int ms = remaining_ms(deadline);
        const int r = ::poll(&p, 1, ms);
        if (r > 0) return std::nullopt;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return Failure{kExitFailed, sys_error("poll", path_, errno)};
        return Failure{kExitTimeout, std::string("timed out ") + what + " (see --timeout)"};
    }
}

std::optional<Failure> ControlClient::send_line(const std::string& line, Deadline deadline) {
    size_t off = 0;
    while (off < line.size()) {
        const ssize_t n = ::send(fd_.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (auto f = wait_for(POLLOUT, deadline, "sending the request to minid")) return f;
            continue;
        }
        return Failure{kExitProtocol, "minid closed the connection before taking the request (" +
                                          std::string(std::strerror(errno)) + ")"};
    }
    return std::nullopt;
}

Expected<std::string> ControlClient::read_line(Deadline deadline) {
    for (;;) {
        if (auto line = in_.next_line()) return std::move(*line);
        if (in_.overflowed())
            return Failure{kExitProtocol, "the answer from " + path_ +
                                              " is not a line of the control protocol (too long)"};
        char buf[65536];
        const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n > 0) {
            in_.append(std::string_view(buf, static_cast<size_t>(n)));
            continue;
        }
        if (n == 0)
            return Failure{kExitProtocol,
                           in_.buffered()
                               ? "minid closed the connection in the middle of its answer"
                               : "minid closed the connection without answering"};
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            if (auto f = wait_for(POLLIN, deadline, "waiting for minid's answer")) return *f;
            continue;
        }
        return Failure{kExitProtocol, sys_error("recv", path_, errno)};
    }
}

Expected<control::Response> ControlClient::call(const control::Request& request,
                                                Deadline deadline) {
    // A master that turns us away answers before reading and closes: the send may fail while
    // its answer already waits in our receive buffer, so read before reporting the send error.
    const auto send_failure = send_line(control::encode_request(request), deadline);
    auto line = read_line(deadline);
    if (!line.ok()) return send_failure ? *send_failure : line.failure();
    auto response = control::decode_response(*line);
    if (!response) {
        std::string shown = line->substr(0, 80);
        for (char& c : shown)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
        return Failure{kExitProtocol, "protocol error from " + path_ + ": " + response.error() +
                                          " (got: \"" + shown +
                                          (line->size() > 80 ? "...\")" : "\")")};
    }
    return std::move(response).value();
}

std::optional<Failure> ControlClient::wait_closed(Deadline deadline) {
    for (;;) {
        char buf[4096];
        const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n == 0) return std::nullopt;
        if (n > 0) continue;  // nothing more is expected; ignore it
        if (errno == EINTR) continue;
        if (errno == ECONNRESET) return std::nullopt;
        if (errno == EAGAIN) {
            if (auto f = wait_for(POLLIN, deadline, "waiting for minid to exit")) return f;
            continue;
        }
        return Failure{kExitFailed, sys_error("recv", path_, errno)};
    }
}

}  // namespace minid::ctl
