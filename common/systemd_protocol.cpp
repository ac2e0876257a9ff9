// Socket activation and sd_notify without libsystemd: see systemd_protocol.hpp.
#include "common/systemd_protocol.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/unique_fd.hpp"

namespace minid::systemd {
namespace {

// A whole decimal number, or false.
template <typename T>
bool parse_number(const char* text, T* out) {
    if (!text || !*text) return false;
    const std::string_view v(text);
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    return ec == std::errc() && p == v.data() + v.size();
}

void unset_listen_env() {
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
}

}  // namespace

Result<std::vector<PassedSocket>> take_listen_fds() {
    std::vector<PassedSocket> out;
    const char* pid_text = std::getenv("LISTEN_PID");
    const char* fds_text = std::getenv("LISTEN_FDS");
    const char* names_text = std::getenv("LISTEN_FDNAMES");
    const std::string names = names_text ? names_text : "";
    const bool have_names = names_text != nullptr;
    unset_listen_env();
    if (!pid_text) return out;
    pid_t pid = 0;
    if (!parse_number(pid_text, &pid) || pid <= 0)
        return make_error(std::string("LISTEN_PID=") + pid_text + ": not a process id");
    if (pid != ::getpid()) return out;  // meant for another process (our parent, say)
    int n = 0;
    if (!parse_number(fds_text, &n) || n < 0 || n > 4096)
        return make_error(std::string("LISTEN_FDS=") + (fds_text ? fds_text : "") +
                          ": not a number of file descriptors");
    std::vector<std::string> split;
    if (have_names) {
        size_t pos = 0;
        for (;;) {
            const size_t colon = names.find(':', pos);
            split.push_back(names.substr(pos, colon == std::string::npos ? colon : colon - pos));
            if (colon == std::string::npos) break;
            pos = colon + 1;
        }
        if (static_cast<int>(split.size()) != n)
            return make_error("LISTEN_FDNAMES has " + std::to_string(split.size()) +
                              " name(s) for LISTEN_FDS=" + std::to_string(n));
    }
    for (int i = 0; i < n; ++i) {
        const int fd = kListenFdsStart + i;
        if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
            return make_error("LISTEN_FDS fd " + std::to_string(fd) +
                              ": fcntl(FD_CLOEXEC): " + std::strerror(errno));
        out.push_back({fd, have_names ? split[static_cast<size_t>(i)] : "unknown"});
    }
    return out;
}

bool is_listening_stream_socket(int fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
    int type = 0, listening = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
        return false;
    len = sizeof listening;
    return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

int notify(const std::string& state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return 0;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const size_t len = std::strlen(path);
    // An absolute path, or '@' for the abstract namespace (systemd uses both; vsock: is for
    // a VM's own manager and not supported here).
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) return -EAFNOSUPPORT;
    std::memcpy(addr.sun_path, path, len);
    if (path[0] == '@') addr.sun_path[0] = '\0';
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return -errno;
    const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    for (;;) {
        const ssize_t sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                                      reinterpret_cast<const sockaddr*>(&addr), addr_len);
        if (sent >= 0) return sent == static_cast<ssize_t>(state.size()) ? 1 : -EPROTO;
        if (errno != EINTR) return -errno;
    }
}

uint64_t watchdog_usec() {
    uint64_t usec = 0;
    if (!parse_number(std::getenv("WATCHDOG_USEC"), &usec) || usec == 0) return 0;
    if (const char* pid_text = std::getenv("WATCHDOG_PID")) {
        pid_t pid = 0;
        if (!parse_number(pid_text, &pid) || pid != ::getpid()) return 0;
    }
    return usec;
}

}  // namespace minid::systemd
