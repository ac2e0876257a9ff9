// ListenSockets implementation.
#include "daemon/listen_sockets.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace minid {
namespace {

// The kernel caps this at net.core.somaxconn; asking for the most keeps a large queue for
// bursts of new connections during a reload.
constexpr int kBacklog = 65535;

std::string local_address(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    char host[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    if (ss.ss_family == AF_UNIX) {
        auto* un = reinterpret_cast<sockaddr_un*>(&ss);
        return std::string("unix:") + un->sun_path;
    }
    return "?";
}

// Removes a leftover unix socket file only if nobody is listening on it.
Status clear_stale_unix_socket(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return {};
    if (!S_ISSOCK(st.st_mode))
        return make_error("listen unix:" + path + ": the path exists and is not a socket");
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&un), sizeof un) == 0)
        return make_error("listen unix:" + path + ": another process is listening there");
    if (::unlink(path.c_str()) != 0) return make_error(sys_error("unlink", path, errno));
    return {};
}

// What the config asks to listen on, plain addresses first.
struct Wanted {
    ListenAddress address;
    bool tls;
};

std::vector<Wanted> wanted_sockets(const Config& config) {
    std::vector<Wanted> out;
    for (const auto& a : config.listen) out.push_back({a, false});
    for (const auto& a : config.listen_tls) out.push_back({a, true});
    return out;
}

std::string socket_name(const ListenAddress& a, bool tls) {
    return tls ? std::string(kTlsListenerName) + "=" + a.to_string() : a.to_string();
}

}  // namespace

Result<ListenSocket> bind_listen_socket(const ListenAddress& a, bool tls) {
    const std::string text = a.to_string();
    int family = a.kind == ListenAddress::Kind::inet    ? AF_INET
                 : a.kind == ListenAddress::Kind::inet6 ? AF_INET6
                                                        : AF_UNIX;
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return make_error(sys_error("socket", text, errno));
    int one = 1;
    if (family != AF_UNIX &&
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        return make_error(sys_error("setsockopt(SO_REUSEADDR)", text, errno));

    int rc;
    if (family == AF_INET) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(a.port);
        if (inet_pton(AF_INET, a.host.c_str(), &in.sin_addr) != 1)
            return make_error("listen " + text + ": not an IPv4 address");
        rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in);
    } else if (family == AF_INET6) {
        if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
            return make_error(sys_error("setsockopt(IPV6_V6ONLY)", text, errno));
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(a.port);
        if (inet_pton(AF_INET6, a.host.c_str(), &in6.sin6_addr) != 1)
            return make_error("listen " + text + ": not an IPv6 address");
        rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&in6), sizeof in6);
    } else {
        if (auto st = clear_stale_unix_socket(a.host); !st) return make_error(st.error());
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (a.host.size() >= sizeof un.sun_path)
            return make_error("listen " + text + ": path too long");
        std::memcpy(un.sun_path, a.host.c_str(), a.host.size() + 1);
        rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&un), sizeof un);
    }
    if (rc != 0) return make_error(sys_error("bind", text, errno));
    if (::listen(fd.get(), kBacklog) != 0) return make_error(sys_error("listen", text, errno));
    ListenSocket s;
    s.bound = local_address(fd.get());
    s.fd = std::move(fd);
    s.name = socket_name(a, tls);
    s.address = a;
    return s;
}

ListenSockets ListenSockets::adopt(bool from_systemd, std::vector<ListenSocket> sockets) {
    ListenSockets set;
    set.from_systemd_ = from_systemd;
    set.sockets_ = std::move(sockets);
    return set;
}

Result<ListenSockets> ListenSockets::acquire(const Config& config) {
    ListenSockets set;
    char** names = nullptr;
    int n = sd_listen_fds_with_names(1, &names);
    if (n < 0) return make_error(std::string("sd_listen_fds_with_names failed: ") + strerror(-n));
    if (n > 0) {
        set.from_systemd_ = true;
        std::string bad;
        for (int i = 0; i < n; ++i) {
            const int fd = SD_LISTEN_FDS_START + i;
            std::string name = names && names[i] ? names[i] : "";
            if (names) free(names[i]);
            ListenSocket s;
            s.fd = UniqueFd(fd);
            // systemd hands the fds over without close-on-exec; only workers may inherit them,
            // and they get them explicitly.
            if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 && bad.empty())
                bad = sys_error("fcntl(FD_CLOEXEC)", "LISTEN_FDS fd " + std::to_string(fd), errno);
            if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0 && bad.empty())
                bad = "LISTEN_FDS fd " + std::to_string(fd) +
                      (name.empty() ? "" : " (" + name + ")") +
                      " is not a listening stream socket; check the ListenStream= lines of the "
                      ".socket unit";
            s.bound = local_address(fd);
            s.name = name.empty() || name == "unknown" ? s.bound : name;
            set.sockets_.push_back(std::move(s));
        }
        free(names);
        if (!bad.empty()) return make_error(bad);
    } else {
        for (const auto& [a, tls] : wanted_sockets(config)) {
            auto s = bind_listen_socket(a, tls);
            if (!s) return make_error(s.error());
            set.sockets_.push_back(std::move(s).value());
        }
    }
    if (auto st = set.apply_options(config); !st) return make_error(st.error());
    return set;
}

Status ListenSockets::apply_options(const Config& config) {
    const int defer_secs = static_cast<int>((config.defer_accept.count() + 999) / 1000);
    for (const ListenSocket& s : sockets_) {
        const int fd = s.fd.get();
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
            return make_error(sys_error("fcntl(O_NONBLOCK)", "listener " + s.name, errno));
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            return make_error(sys_error("getsockname", "listener " + s.name, errno));
        if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) continue;
        // Responses are written whole, so Nagle could only delay a pipelined one.
        const int one = 1;
        if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            log::warn(sys_error("setsockopt(TCP_NODELAY)", "listener " + s.name, errno));
        // A worker woken for a connection with nothing to read yet costs a round through epoll
        // on both cores; deferred, the kernel wakes it once, request included.
        if (::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_secs, sizeof defer_secs) != 0)
            log::warn(sys_error("setsockopt(TCP_DEFER_ACCEPT)", "listener " + s.name, errno));
        // A new connection starts in quick-ACK mode: the request's ACK goes out alone, ahead of
        // the response that would carry it, and both cores pay for one more packet. Accepted
        // sockets inherit the listener's setting; set both ways so a reload can turn it back on.
        const int quickack = config.delayed_ack ? 0 : 1;
        if (::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &quickack, sizeof quickack) != 0)
            log::warn(sys_error("setsockopt(TCP_QUICKACK)", "listener " + s.name, errno));
    }
    return {};
}

Status ListenSockets::reconcile(const Config& config) {
    if (from_systemd_) return apply_options(config);
    // Bind everything new first, so a failure leaves the current set untouched.
    const std::vector<Wanted> wanted = wanted_sockets(config);
    std::vector<int> keep_index(wanted.size(), -1);
    std::vector<ListenSocket> fresh;
    for (size_t i = 0; i < wanted.size(); ++i) {
        for (size_t j = 0; j < sockets_.size(); ++j)
            if (sockets_[j].address == wanted[i].address) keep_index[i] = static_cast<int>(j);
        if (keep_index[i] >= 0) continue;
        auto s = bind_listen_socket(wanted[i].address, wanted[i].tls);
        if (!s) return make_error(s.error());
        fresh.push_back(std::move(s).value());
    }
    std::vector<ListenSocket> next;
    std::vector<bool> used(sockets_.size(), false);
    size_t f = 0;
    for (size_t i = 0; i < wanted.size(); ++i) {
        if (keep_index[i] >= 0) {
            used[static_cast<size_t>(keep_index[i])] = true;
            ListenSocket& kept = sockets_[static_cast<size_t>(keep_index[i])];
            // The same socket may move between listen and listen_tls.
            kept.name = socket_name(wanted[i].address, wanted[i].tls);
            next.push_back(std::move(kept));
        } else {
            log::info("listening on ", fresh[f].bound, " (new in this reload)");
            next.push_back(std::move(fresh[f++]));
        }
    }
    for (size_t j = 0; j < sockets_.size(); ++j)
        if (!used[j]) log::info("no longer listening on ", sockets_[j].bound);
    sockets_ = std::move(next);
    return apply_options(config);
}

bool ListenSockets::any_tls() const {
    for (const auto& s : sockets_)
        if (s.tls()) return true;
    return false;
}

std::vector<std::string> ListenSockets::describe() const {
    std::vector<std::string> out;
    for (const auto& s : sockets_) out.push_back(s.bound);
    return out;
}

}  // namespace minid
