// AccessLog: the combined log format, buffered per loop iteration and written with one write(2),
// to stdout (journald) or to a file that SIGUSR1 reopens after logrotate moved it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "worker/http/request.hpp"

namespace minid {

class AccessLog {
  public:
    // target: "stdout", "off", or an absolute path (opened O_APPEND, created 0640).
    static Result<AccessLog> open(const std::string& target);

    // Appends one line; flush() writes the batch. A proxied request (upstream_status != 0)
    // adds "upstream_status=502 upstream_time=0.012" (seconds) after the user agent.
    void append(const sockaddr* peer, std::time_t now, const http::Request& req, int status,
                uint64_t body_bytes, int upstream_status = 0, uint32_t upstream_ms = 0);
    // Writes what is buffered. A failing write (disk full) is reported once, then lines are
    // dropped until a write succeeds again, so serving never stops for the log.
    void flush();
    // Reopens a file target (SIGUSR1). Keeps the old fd if the reopen fails.
    Status reopen();
    // The peer's address as the log shows it ("192.0.2.1", "2001:db8::1", "unix:", "-").
    static std::string peer_text(const sockaddr* peer);

  private:
    AccessLog() = default;

    std::string target_;
    UniqueFd file_;  // invalid when logging to stdout
    int fd_ = -1;
    bool enabled_ = false;
    bool failing_ = false;
    std::string buf_;
    std::time_t stamp_second_ = 0;
    char stamp_[40] = {};
};

}  // namespace minid
