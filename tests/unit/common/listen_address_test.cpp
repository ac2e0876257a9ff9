// Tests for ListenAddress: accepted spellings, canonical form, and the error for each bad input.
#include "common/listen_address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace minid {
namespace {

struct Good {
    const char* text;
    ListenAddress::Kind kind;
    const char* host;
    uint16_t port;
    const char* canonical;
};

class ListenAddressGood : public ::testing::TestWithParam<Good> {};

TEST_P(ListenAddressGood, ParsesToCanonicalForm) {
    const Good& g = GetParam();
    auto a = ListenAddress::parse(g.text);
    ASSERT_TRUE(a.ok()) << g.text << ": " << a.error();
    EXPECT_EQ(a->kind, g.kind);
    EXPECT_EQ(a->host, g.host);
    EXPECT_EQ(a->port, g.port);
    EXPECT_EQ(a->to_string(), g.canonical);
    // The canonical form parses back to the same address.
    auto again = ListenAddress::parse(a->to_string());
    ASSERT_TRUE(again.ok()) << again.error();
    EXPECT_EQ(*again, *a);
}

using K = ListenAddress::Kind;
INSTANTIATE_TEST_SUITE_P(
    Table, ListenAddressGood,
    ::testing::Values(Good{"127.0.0.1:8080", K::inet, "127.0.0.1", 8080, "127.0.0.1:8080"},
                      Good{"[::1]:8080", K::inet6, "::1", 8080, "[::1]:8080"},
                      Good{"*:80", K::inet, "0.0.0.0", 80, "0.0.0.0:80"},
                      Good{"[::]:80", K::inet6, "::", 80, "[::]:80"},
                      Good{"80", K::inet, "0.0.0.0", 80, "0.0.0.0:80"},
                      Good{"localhost:80", K::inet, "127.0.0.1", 80, "127.0.0.1:80"},
                      Good{"0", K::inet, "0.0.0.0", 0, "0.0.0.0:0"},
                      Good{"127.0.0.1:0", K::inet, "127.0.0.1", 0, "127.0.0.1:0"},
                      Good{"10.1.2.3:65535", K::inet, "10.1.2.3", 65535, "10.1.2.3:65535"},
                      Good{"[0:0:0:0:0:0:0:1]:443", K::inet6, "::1", 443, "[::1]:443"},
                      Good{"[FE80::1]:8080", K::inet6, "fe80::1", 8080, "[fe80::1]:8080"},
                      Good{"[::ffff:1.2.3.4]:81", K::inet6, "::ffff:1.2.3.4", 81,
                           "[::ffff:1.2.3.4]:81"},
                      Good{"unix:/run/minid/http.sock", K::unix_path, "/run/minid/http.sock", 0,
                           "unix:/run/minid/http.sock"}));

struct Bad {
    const char* text;
    const char* message;
};

class ListenAddressBad : public ::testing::TestWithParam<Bad> {};

TEST_P(ListenAddressBad, IsRejectedWithAReason) {
    auto a = ListenAddress::parse(GetParam().text);
    ASSERT_FALSE(a.ok()) << GetParam().text << " parsed as " << a->to_string();
    EXPECT_EQ(a.error(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ListenAddressBad,
    ::testing::Values(
        Bad{"x:99999", "invalid listen address 'x:99999': port out of range"},
        Bad{"127.0.0.1:99999", "invalid listen address '127.0.0.1:99999': port out of range"},
        Bad{"127.0.0.1:65536", "invalid listen address '127.0.0.1:65536': port out of range"},
        Bad{"127.0.0.1:0000080", "invalid listen address '127.0.0.1:0000080': port out of range"},
        Bad{"", "invalid listen address '': empty address"},
        Bad{"127.0.0.1", "invalid listen address '127.0.0.1': missing port, e.g. 127.0.0.1:8080"},
        Bad{"127.0.0.1:", "invalid listen address '127.0.0.1:': missing port"},
        Bad{"127.0.0.1:http",
            "invalid listen address '127.0.0.1:http': port must be a number from 0 to 65535"},
        Bad{"127.0.0.1:-1",
            "invalid listen address '127.0.0.1:-1': port must be a number from 0 to 65535"},
        Bad{"example.com:80",
            "invalid listen address 'example.com:80': host must be a numeric IPv4 address, "
            "[IPv6], '*' or 'localhost' (no DNS lookups)"},
        Bad{"127.1:80",
            "invalid listen address '127.1:80': host must be a numeric IPv4 address, [IPv6], "
            "'*' or 'localhost' (no DNS lookups)"},
        Bad{":80",
            "invalid listen address ':80': host must be a numeric IPv4 address, [IPv6], '*' or "
            "'localhost' (no DNS lookups)"},
        Bad{"::1:80",
            "invalid listen address '::1:80': put IPv6 addresses in brackets, e.g. [::1]:8080"},
        Bad{"[::1]", "invalid listen address '[::1]': missing port, e.g. [::1]:8080"},
        Bad{"[::1]:", "invalid listen address '[::1]:': missing port"},
        Bad{"[::1]8080", "invalid listen address '[::1]8080': expected ':PORT' after ']'"},
        Bad{"[::1:8080", "invalid listen address '[::1:8080': missing ']' after the IPv6 address"},
        Bad{"[1.2.3.4]:80",
            "invalid listen address '[1.2.3.4]:80': '1.2.3.4' is not a numeric IPv6 address"},
        Bad{"[fe80::1%eth0]:80",
            "invalid listen address '[fe80::1%eth0]:80': 'fe80::1%eth0' is not a numeric IPv6 "
            "address"},
        Bad{"unix:run/x.sock",
            "invalid listen address 'unix:run/x.sock': unix socket path must be absolute, e.g. "
            "unix:/run/minid/http.sock"},
        Bad{"unix:",
            "invalid listen address 'unix:': unix socket path must be absolute, e.g. "
            "unix:/run/minid/http.sock"},
        Bad{"unix:/tmp/a b",
            "invalid listen address 'unix:/tmp/a b': unix socket path must not "
            "contain whitespace or control characters"}));

TEST(ListenAddress, UnixPathMustFitSunPath) {
    // sun_path is 108 bytes including the NUL: 107 path bytes fit, 108 do not.
    const std::string fits = "/" + std::string(106, 'a');
    const std::string too_long = "/" + std::string(107, 'a');
    auto ok = ListenAddress::parse("unix:" + fits);
    ASSERT_TRUE(ok.ok()) << ok.error();
    EXPECT_EQ(ok->host, fits);
    auto bad = ListenAddress::parse("unix:" + too_long);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), "invalid listen address 'unix:" + too_long +
                               "': unix socket path is longer than 107 bytes");
}

TEST(ListenAddress, EqualityComparesKindHostAndPort) {
    EXPECT_EQ(ListenAddress::parse("*:80").value(), ListenAddress::parse("80").value());
    EXPECT_EQ(ListenAddress::parse("[::0]:80").value(), ListenAddress::parse("[::]:80").value());
    EXPECT_FALSE(ListenAddress::parse("0.0.0.0:80").value() ==
                 ListenAddress::parse("[::]:80").value());
    EXPECT_FALSE(ListenAddress::parse("0.0.0.0:80").value() ==
                 ListenAddress::parse("0.0.0.0:81").value());
}

}  // namespace
}  // namespace minid

namespace minid {
namespace {

TEST(TlsListenerName, HttpsAndHttpsEqualsAddressOnly) {
    EXPECT_TRUE(is_tls_listener_name("https"));
    EXPECT_TRUE(is_tls_listener_name("https=127.0.0.1:443"));
    EXPECT_TRUE(is_tls_listener_name("https=127.0.0.1_443"));  // as LISTEN_FDNAMES carries it
    EXPECT_FALSE(is_tls_listener_name("http"));
    EXPECT_FALSE(is_tls_listener_name("https2"));
    EXPECT_FALSE(is_tls_listener_name("https="));
    EXPECT_FALSE(is_tls_listener_name("127.0.0.1:443"));
    EXPECT_FALSE(is_tls_listener_name(""));
}

}  // namespace
}  // namespace minid
