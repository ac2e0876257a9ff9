// Address ranges for trusted_proxies: IPv4/IPv6 CIDRs and the word "unix" (unix-socket peers),
// parsed once from the config and asked whether a peer's sockaddr falls inside.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace minid {

struct Cidr {
    enum class Kind : uint8_t { ipv4, ipv6, unix_socket };
    Kind kind = Kind::ipv4;
    std::array<uint8_t, 16> addr{};  // network byte order, host bits cleared
    uint8_t bits = 0;                // prefix length

    bool operator==(const Cidr&) const = default;
};

// "192.0.2.0/24", "10.1.2.3" (/32), "2001:db8::/32", "::1" (/128) or "unix". Host bits may be
// set ("127.0.0.1/8" means 127.0.0.0/8, as in nginx's set_real_ip_from). The error says what
// was expected.
Result<Cidr> parse_cidr(std::string_view text);

// A list of ranges; an IPv4-mapped IPv6 peer (::ffff:a.b.c.d) is matched as IPv4.
class CidrList {
  public:
    // Fails on the first word that is not a range.
    static Result<CidrList> parse(const std::vector<std::string>& words);
    bool contains(const sockaddr* peer) const;
    bool empty() const { return ranges_.empty(); }

  private:
    std::vector<Cidr> ranges_;
};

}  // namespace minid
