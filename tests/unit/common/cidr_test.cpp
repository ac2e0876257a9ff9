// Tests for the trusted_proxies ranges: parsing (host bits, bare addresses, bad input) and
// matching IPv4, IPv6, IPv4-mapped IPv6 and unix-socket peers.
#include "common/cidr.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <vector>

namespace minid {
namespace {

sockaddr_storage v4(const char* text) {
    sockaddr_storage ss{};
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text, &a->sin_addr), 1) << text;
    return ss;
}

sockaddr_storage v6(const char* text) {
    sockaddr_storage ss{};
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text, &a->sin6_addr), 1) << text;
    return ss;
}

const sockaddr* sa(const sockaddr_storage& ss) {
    return reinterpret_cast<const sockaddr*>(&ss);
}

CidrList list(std::vector<std::string> words) {
    auto l = CidrList::parse(words);
    EXPECT_TRUE(l.ok()) << l.error();
    return l.ok() ? std::move(l).value() : CidrList{};
}

TEST(Cidr, ClearsHostBitsAndDefaultsToAFullPrefix) {
    auto a = parse_cidr("127.0.0.1/8");
    ASSERT_TRUE(a.ok()) << a.error();
    auto b = parse_cidr("127.0.0.0/8");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*a, *b);
    auto c = parse_cidr("192.0.2.7");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->bits, 32);
    auto d = parse_cidr("::1");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->bits, 128);
    EXPECT_EQ(d->kind, Cidr::Kind::ipv6);
    auto u = parse_cidr("unix");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->kind, Cidr::Kind::unix_socket);
}

TEST(Cidr, RefusesWhatIsNotARange) {
    for (const char* bad : {"", "localhost", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x",
                            "10.0.0.0/-1", "10.0.0/8", "UNIX", "1.2.3.4/ 8"}) {
        auto c = parse_cidr(bad);
        EXPECT_FALSE(c.ok()) << bad;
        if (!c.ok()) {
            EXPECT_NE(c.error().find(bad), std::string::npos) << c.error();
        }
    }
}

TEST(CidrList, MatchesIpv4ByPrefix) {
    const CidrList l = list({"127.0.0.1/8", "192.0.2.128/25"});
    EXPECT_TRUE(l.contains(sa(v4("127.9.8.7"))));
    EXPECT_TRUE(l.contains(sa(v4("192.0.2.200"))));
    EXPECT_FALSE(l.contains(sa(v4("192.0.2.127"))));
    EXPECT_FALSE(l.contains(sa(v4("128.0.0.1"))));
    EXPECT_FALSE(l.contains(sa(v6("::1"))));
}

TEST(CidrList, MatchesIpv6AndMappedIpv4) {
    const CidrList l = list({"2001:db8::/33", "10.0.0.0/8"});
    EXPECT_TRUE(l.contains(sa(v6("2001:db8:7fff::1"))));
    EXPECT_FALSE(l.contains(sa(v6("2001:db8:8000::1"))));
    EXPECT_TRUE(l.contains(sa(v6("::ffff:10.1.2.3"))));
    EXPECT_FALSE(l.contains(sa(v6("::ffff:11.1.2.3"))));
}

TEST(CidrList, ZeroPrefixMatchesEveryAddressOfItsFamily) {
    const CidrList l = list({"0.0.0.0/0"});
    EXPECT_TRUE(l.contains(sa(v4("203.0.113.9"))));
    EXPECT_FALSE(l.contains(sa(v6("2001:db8::1"))));
}

TEST(CidrList, UnixPeersOnlyWhenListed) {
    sockaddr_storage ss{};
    ss.ss_family = AF_UNIX;
    EXPECT_FALSE(list({"127.0.0.0/8"}).contains(sa(ss)));
    EXPECT_TRUE(list({"unix"}).contains(sa(ss)));
    EXPECT_FALSE(list({"unix"}).contains(nullptr));
    EXPECT_FALSE(CidrList{}.contains(sa(v4("127.0.0.1"))));
}

}  // namespace
}  // namespace minid
