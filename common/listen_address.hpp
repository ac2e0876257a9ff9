// ListenAddress: one place to accept connections, "HOST:PORT", "[V6]:PORT" or "unix:/path".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace minid {

struct ListenAddress {
    enum class Kind { inet, inet6, unix_path };
    Kind kind = Kind::inet;
    std::string host;  // numeric address for inet/inet6 ("0.0.0.0", "::1"); path for unix_path
    uint16_t port = 0;

    // Canonical text form, accepted back by parse(): "127.0.0.1:80", "[::1]:80", "unix:/run/x".
    std::string to_string() const;
    bool operator==(const ListenAddress&) const = default;

    // Accepts "HOST:PORT", "[V6]:PORT", "*:PORT" (all IPv4), "PORT" (0.0.0.0:PORT),
    // "localhost:PORT" (127.0.0.1), "unix:/abs/path". Port 0 is allowed (ephemeral, for tests).
    static Result<ListenAddress> parse(std::string_view text);
};

// A listening socket that speaks TLS is named "https": systemd's FileDescriptorName=https, or
// "https=ADDRESS" for one minid bound from listen_tls. The name travels to workers in
// LISTEN_FDNAMES (and across a master re-exec), so it is the one mark of a TLS listener.
inline constexpr std::string_view kTlsListenerName = "https";
inline bool is_tls_listener_name(std::string_view name) {
    return name == kTlsListenerName ||
           (name.size() > kTlsListenerName.size() + 1 && name.starts_with(kTlsListenerName) &&
            name[kTlsListenerName.size()] == '=');
}

}  // namespace minid
