// AccessLog implementation: nginx-compatible "combined" lines with unprintable bytes escaped,
// so log readers and tools such as goaccess parse them.
#include "worker/access_log.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "common/log.hpp"

namespace minid {
namespace {

// Escapes '"', '\\' and bytes outside printable ASCII as \xHH, as nginx does.
void append_escaped(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : s) {
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
}

void append_quoted_or_dash(std::string& out, std::string_view s) {
    out += '"';
    if (s.empty())
        out += '-';
    else
        append_escaped(out, s);
    out += '"';
}

void append_peer(std::string& out, const sockaddr* peer) {
    char text[INET6_ADDRSTRLEN] = "-";
    if (peer == nullptr) {
        out += text;
        return;
    }
    if (peer->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr, text,
                  sizeof text);
    } else if (peer->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr, text,
                  sizeof text);
    } else if (peer->sa_family == AF_UNIX) {
        text[0] = 'u', text[1] = 'n', text[2] = 'i', text[3] = 'x', text[4] = ':', text[5] = 0;
    }
    out += text;
}

}  // namespace

std::string AccessLog::peer_text(const sockaddr* peer) {
    std::string s;
    append_peer(s, peer);
    return s;
}

Result<AccessLog> AccessLog::open(const std::string& target) {
    AccessLog log;
    log.target_ = target;
    if (target == "off") return log;
    log.enabled_ = true;
    if (target == "stdout") {
        log.fd_ = STDOUT_FILENO;
        return log;
    }
    UniqueFd fd(::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    if (!fd) return make_error(sys_error("open", "access log " + target, errno));
    log.fd_ = fd.get();
    log.file_ = std::move(fd);
    return log;
}

void AccessLog::append(const sockaddr* peer, std::time_t now, const http::Request& req, int status,
                       uint64_t body_bytes, int upstream_status, uint32_t upstream_ms) {
    if (!enabled_) return;
    if (now != stamp_second_) {
        stamp_second_ = now;
        tm local{};
        localtime_r(&now, &local);
        strftime(stamp_, sizeof stamp_, "[%d/%b/%Y:%H:%M:%S %z]", &local);
    }
    append_peer(buf_, peer);
    buf_ += " - - ";
    buf_ += stamp_;
    buf_ += " \"";
    append_escaped(buf_, req.method_name);
    buf_ += ' ';
    append_escaped(buf_, req.target);
    buf_ += " HTTP/";
    buf_ += static_cast<char>('0' + req.version_major % 10);
    buf_ += '.';
    buf_ += static_cast<char>('0' + req.version_minor % 10);
    buf_ += "\" ";
    buf_ += std::to_string(status);
    buf_ += ' ';
    buf_ += std::to_string(body_bytes);
    buf_ += ' ';
    append_quoted_or_dash(buf_, req.referer);
    buf_ += ' ';
    append_quoted_or_dash(buf_, req.user_agent);
    if (upstream_status != 0) {
        char tail[64];
        const int n = std::snprintf(tail, sizeof tail, " upstream_status=%d upstream_time=%u.%03u",
                                    upstream_status, upstream_ms / 1000, upstream_ms % 1000);
        if (n > 0) buf_.append(tail, std::min<size_t>(static_cast<size_t>(n), sizeof tail - 1));
    }
    buf_ += '\n';
    if (buf_.size() >= 64 * 1024) flush();
}

void AccessLog::flush() {
    if (buf_.empty()) return;
    size_t off = 0;
    while (off < buf_.size()) {
        ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            if (!failing_) {
                log::error(sys_error("write", "access log " + target_, errno),
                           "; dropping access log lines until writing works again");
                failing_ = true;
            }
            break;
        }
        off += static_cast<size_t>(n);
    }
    if (off == buf_.size() && failing_) {
        log::notice("access log ", target_, " is writable again");
        failing_ = false;
    }
    buf_.clear();
}

Status AccessLog::reopen() {
    if (!file_) return {};
    flush();
    UniqueFd fd(::open(target_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    if (!fd) return make_error(sys_error("open", "access log " + target_, errno));
    fd_ = fd.get();
    file_ = std::move(fd);
    return {};
}

}  // namespace minid
