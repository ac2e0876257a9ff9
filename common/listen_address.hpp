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

}  // namespace minid
