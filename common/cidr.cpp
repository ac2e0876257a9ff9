// Address ranges: parsing with inet_pton and prefix matching byte by byte.
#include "common/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

namespace minid {
namespace {

bool prefix_matches(const uint8_t* net, const uint8_t* addr, unsigned bits) {
    const unsigned whole = bits / 8;
    if (std::memcmp(net, addr, whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (net[whole] & mask) == (addr[whole] & mask);
}

void clear_host_bits(Cidr& c, unsigned size) {
    for (unsigned i = 0; i < size; ++i) {
        const unsigned first_bit = i * 8;
        if (first_bit >= c.bits) {
            c.addr[i] = 0;
        } else if (first_bit + 8 > c.bits) {
            c.addr[i] &= static_cast<uint8_t>(0xff << (8 - (c.bits - first_bit)));
        }
    }
}

}  // namespace

Result<Cidr> parse_cidr(std::string_view text) {
    Cidr c;
    if (text == "unix") {
        c.kind = Cidr::Kind::unix_socket;
        return c;
    }
    const size_t slash = text.find('/');
    const std::string address(text.substr(0, slash));
    unsigned size = 0;
    if (inet_pton(AF_INET, address.c_str(), c.addr.data()) == 1) {
        c.kind = Cidr::Kind::ipv4;
        size = 4;
    } else if (inet_pton(AF_INET6, address.c_str(), c.addr.data()) == 1) {
        c.kind = Cidr::Kind::ipv6;
        size = 16;
    } else {
        return make_error("'" + std::string(text) +
                          "': expected an IPv4 or IPv6 address with an optional /PREFIX "
                          "(192.0.2.0/24, 2001:db8::/32) or unix");
    }
    unsigned bits = size * 8;
    if (slash != std::string_view::npos) {
        const std::string_view len = text.substr(slash + 1);
        unsigned parsed = 0;
        const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), parsed);
        if (len.empty() || ec != std::errc{} || end != len.data() + len.size() || parsed > bits)
            return make_error("'" + std::string(text) + "': the prefix length must be 0.." +
                              std::to_string(bits));
        bits = parsed;
    }
    c.bits = static_cast<uint8_t>(bits);
    clear_host_bits(c, size);
    return c;
}

Result<CidrList> CidrList::parse(const std::vector<std::string>& words) {
    CidrList out;
    for (const std::string& w : words) {
        auto c = parse_cidr(w);
        if (!c) return make_error(c.error());
        out.ranges_.push_back(*c);
    }
    return out;
}

bool CidrList::contains(const sockaddr* peer) const {
    if (peer == nullptr) return false;
    Cidr::Kind kind;
    const uint8_t* addr = nullptr;
    if (peer->sa_family == AF_UNIX) {
        kind = Cidr::Kind::unix_socket;
    } else if (peer->sa_family == AF_INET) {
        kind = Cidr::Kind::ipv4;
        addr =
            reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(peer)->sin_addr);
    } else if (peer->sa_family == AF_INET6) {
        const in6_addr& a6 = reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr;
        addr = a6.s6_addr;
        kind = Cidr::Kind::ipv6;
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            kind = Cidr::Kind::ipv4;
            addr += 12;
        }
    } else {
        return false;
    }
    for (const Cidr& c : ranges_) {
        if (c.kind != kind) continue;
        if (kind == Cidr::Kind::unix_socket || prefix_matches(c.addr.data(), addr, c.bits))
            return true;
    }
    return false;
}

}  // namespace minid
