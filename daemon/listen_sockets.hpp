// ListenSockets: the listening sockets the master holds for its whole life — received from
// systemd (socket activation) or bound from the config — and hands to every worker generation.
#pragma once

#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace minid {

struct ListenSocket {
    UniqueFd fd;
    std::string name;       // FileDescriptorName= under systemd, else the address text
    ListenAddress address;  // what was bound (only meaningful when !from_systemd)
    std::string bound;      // the actual local address, e.g. "127.0.0.1:41234"
};

class ListenSockets {
  public:
    // Takes LISTEN_FDS sockets if systemd passed any (and unsets the variables), otherwise
    // binds every address in config.listen.
    static Result<ListenSockets> acquire(const Config& config);

    bool from_systemd() const { return from_systemd_; }
    const std::vector<ListenSocket>& sockets() const { return sockets_; }

    // On reload: bind addresses that are new in `config`, drop ones no longer named, keep the
    // rest (same fd, so no connection is refused). Does nothing under socket activation.
    // All-or-nothing: on error nothing changes.
    Status reconcile(const Config& config);

    std::vector<std::string> describe() const;

  private:
    bool from_systemd_ = false;
    std::vector<ListenSocket> sockets_;
};

// Binds and listens on one address (non-blocking, close-on-exec, SO_REUSEADDR, v6-only for
// IPv6 so "[::]:80" and "0.0.0.0:80" can both be configured).
Result<ListenSocket> bind_listen_socket(const ListenAddress& address);

}  // namespace minid
