// Tests for the ASCII helpers used by the HTTP code.
#include "worker/http/ascii.hpp"

#include <gtest/gtest.h>

namespace minid::http::ascii {
namespace {

TEST(Ascii, CaseInsensitiveEquality) {
    EXPECT_TRUE(iequals("Content-Length", "content-length"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("Host", "Hosts"));
    EXPECT_FALSE(iequals("a", "\xc1"));  // only ASCII letters fold
    EXPECT_EQ(to_lower('Z'), 'z');
    EXPECT_EQ(to_lower('['), '[');
}

TEST(Ascii, Tokens) {
    EXPECT_TRUE(is_token("X-Custom_Header.1!#$%&'*+^`|~"));
    EXPECT_FALSE(is_token(""));
    EXPECT_FALSE(is_token("Host "));
    EXPECT_FALSE(is_token("a:b"));
    EXPECT_FALSE(is_token("a\"b"));
    EXPECT_FALSE(is_token("\xe9"));
}

TEST(Ascii, FieldValueCharacters) {
    EXPECT_TRUE(is_field_value_char('\t'));
    EXPECT_TRUE(is_field_value_char(' '));
    EXPECT_TRUE(is_field_value_char('\x80'));
    EXPECT_FALSE(is_field_value_char('\r'));
    EXPECT_FALSE(is_field_value_char('\0'));
    EXPECT_FALSE(is_field_value_char('\x7f'));
}

TEST(Ascii, HexAndTrim) {
    EXPECT_EQ(hex_value('0'), 0);
    EXPECT_EQ(hex_value('f'), 15);
    EXPECT_EQ(hex_value('F'), 15);
    EXPECT_EQ(hex_value('g'), -1);
    EXPECT_EQ(trim_ows(" \t a b \t"), "a b");
    EXPECT_EQ(trim_ows("   "), "");
}

TEST(Ascii, DecimalsSaturate) {
    uint64_t v = 0;
    EXPECT_TRUE(parse_decimal("0", &v));
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(parse_decimal("18446744073709551615", &v));
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_TRUE(parse_decimal("18446744073709551616", &v));
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_TRUE(parse_decimal("99999999999999999999999", &v));
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_FALSE(parse_decimal("", &v));
    EXPECT_FALSE(parse_decimal("1a", &v));
    EXPECT_FALSE(parse_decimal("-1", &v));
    EXPECT_FALSE(parse_decimal(" 1", &v));
}

}  // namespace
}  // namespace minid::http::ascii
