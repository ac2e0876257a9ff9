// Tests for [site] host patterns: what parses, the canonical form, and the reason for each bad one.
#include "common/host_pattern.hpp"

#include <gtest/gtest.h>

#include <string>

namespace minid {
namespace {

std::string parsed(std::string_view text) {
    auto p = parse_host_pattern(text);
    return p.ok() ? *p : "error: " + p.error();
}

TEST(HostPattern, NamesWildcardsAndAddressesParseToLowerCaseWithoutTrailingDot) {
    EXPECT_EQ(parsed("example.com"), "example.com");
    EXPECT_EQ(parsed("WWW.Example.COM."), "www.example.com");
    EXPECT_EQ(parsed("*.Example.org"), "*.example.org");
    EXPECT_EQ(parsed("*.org"), "*.org");
    EXPECT_EQ(parsed("localhost"), "localhost");
    EXPECT_EQ(parsed("my_host-1.internal"), "my_host-1.internal");
    EXPECT_EQ(parsed("192.0.2.7"), "192.0.2.7");
    EXPECT_EQ(parsed("[::1]"), "[::1]");
    EXPECT_EQ(parsed("[2001:DB8::1]"), "[2001:db8::1]");
}

TEST(HostPattern, BadPatternsSayWhy) {
    EXPECT_EQ(parsed("*"),
              "error: a lone '*' is not a pattern; to catch every other host, make "
              "the site the default (default = on)");
    EXPECT_EQ(parsed("www.*.com"),
              "error: '*' is allowed only as the whole first label, as in *.example.com");
    EXPECT_EQ(parsed("*example.com"),
              "error: '*' is allowed only as the whole first label, as in *.example.com");
    EXPECT_EQ(parsed("example.com:8080"),
              "error: a port is not part of a host pattern (a site answers on every listen "
              "address)");
    EXPECT_EQ(parsed("[::1]:80"),
              "error: a port is not part of a host pattern (a site answers on every listen "
              "address)");
    EXPECT_EQ(parsed("a..b"), "error: has an empty label (\"..\" or a leading dot)");
    EXPECT_EQ(parsed(".example.com"), "error: has an empty label (\"..\" or a leading dot)");
    EXPECT_EQ(parsed("*."),
              "error: a lone '*' is not a pattern; to catch every other host, "
              "make the site the default (default = on)");
    EXPECT_EQ(parsed("ex ample"),
              "error: contains ' '; a host name has letters, digits, '-', '_' and dots");
    EXPECT_EQ(parsed("http://example.com"),
              "error: write the host name alone, without a scheme or a path");
    EXPECT_EQ(parsed("[::1"), "error: is not an IPv6 address in brackets such as [::1]");
    EXPECT_EQ(parsed("[example]"), "error: is not an IPv6 address in brackets such as [::1]");
    EXPECT_EQ(parsed(std::string(64, 'a') + ".com"),
              "error: has a label longer than 63 characters");
    std::string long_name;
    for (int i = 0; i < 64; ++i) long_name += "abc.";
    long_name += "com";
    EXPECT_EQ(parsed(long_name), "error: is longer than 253 characters");
}

TEST(HostPattern, StoredPatternsMustBeCanonical) {
    EXPECT_FALSE(host_pattern_problem("example.com"));
    EXPECT_FALSE(host_pattern_problem("*.example.com"));
    EXPECT_FALSE(host_pattern_problem("[::1]"));
    EXPECT_EQ(host_pattern_problem("Example.com"), "must be lower case");
    EXPECT_EQ(host_pattern_problem("example.com."), "must not end with a dot");
    EXPECT_EQ(host_pattern_problem(""), "is empty");
}

}  // namespace
}  // namespace minid
