// Tests for the raw request-head checks.
#include "worker/http/head_syntax.hpp"

#include <gtest/gtest.h>

#include <string>

namespace minid::http {
namespace {

TEST(HeadSyntax, CleanHeadsPass) {
    EXPECT_TRUE(check_head_framing("GET / HTTP/1.0\r\n\r\n").empty());
    EXPECT_TRUE(check_head_framing("GET / HTTP/1.1\r\nHost: a\r\nX: a\tb \xff\r\n\r\n").empty());
}

TEST(HeadSyntax, BadFramingIsNamed) {
    EXPECT_EQ(check_head_framing("GET / HTTP/1.1\r\nHost: a\r\n\n"),
              "head does not end with CRLF CRLF");
    EXPECT_EQ(check_head_framing("GET / HTTP/1.1\nHost: a\r\n\r\n"), "bare LF in request head");
    EXPECT_EQ(check_head_framing("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
              "bare CR in request head");
    EXPECT_EQ(check_head_framing("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"),
              "obsolete line folding in request head");
    EXPECT_EQ(check_head_framing(std::string("GET / HTTP/1.1\r\nX: \0\r\n\r\n", 24)),
              "control character in request head");
    EXPECT_EQ(check_head_framing("GET / HTTP/1.1\r\nX: \x7f\r\n\r\n"),
              "control character in request head");
    EXPECT_FALSE(check_head_framing("\r\n\r").empty());
}

TEST(HeadSyntax, TargetCharacters) {
    EXPECT_TRUE(is_valid_target("/a/b?c=%20&d#e"));
    EXPECT_TRUE(is_valid_target("*"));
    EXPECT_FALSE(is_valid_target(""));
    EXPECT_FALSE(is_valid_target("/a b"));
    EXPECT_FALSE(is_valid_target("/a\tb"));
    EXPECT_FALSE(is_valid_target("/a\x7f"));
    EXPECT_FALSE(is_valid_target("/\xc3\xa9"));
}

}  // namespace
}  // namespace minid::http
