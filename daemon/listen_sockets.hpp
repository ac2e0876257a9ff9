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
    bool tls() const { return is_tls_listener_name(name); }
};

class ListenSockets {
  public:
    // Takes LISTEN_FDS sockets if systemd passed any (and unsets the variables; those named
    // "https" speak TLS), otherwise binds every address in config.listen and config.listen_tls.
    // Either way the sockets get the options below.
    static Result<ListenSockets> acquire(const Config& config);

    // In a re-executed master: the sockets its previous image held, already configured.
    static ListenSockets adopt(bool from_systemd, std::vector<ListenSocket> sockets);

    bool from_systemd() const { return from_systemd_; }
    const std::vector<ListenSocket>& sockets() const { return sockets_; }

    // On reload: bind addresses that are new in `config`, drop ones no longer named, keep the
    // rest (same fd, so no connection is refused); under socket activation the set stays.
    // All-or-nothing: on error nothing changes. Then the options below follow `config`.
    Status reconcile(const Config& config);

    std::vector<std::string> describe() const;
    // Whether any socket speaks TLS (then the default site needs a certificate).
    bool any_tls() const;

  private:
    // Options that live on the shared open files, so every worker of every generation sees
    // them, set once here rather than by each worker: O_NONBLOCK (systemd's sockets come
    // blocking, and one accept too many must not stall a worker), TCP_NODELAY (inherited by
    // accepted sockets) and TCP_DEFER_ACCEPT from defer_accept (overriding DeferAcceptSec=).
    Status apply_options(const Config& config);

    bool from_systemd_ = false;
    std::vector<ListenSocket> sockets_;
};

// Binds and listens on one address (non-blocking, close-on-exec, SO_REUSEADDR, v6-only for
// IPv6 so "[::]:80" and "0.0.0.0:80" can both be configured).
// `tls`: name it "https=ADDRESS" (see is_tls_listener_name).
Result<ListenSocket> bind_listen_socket(const ListenAddress& address, bool tls = false);

}  // namespace minid
