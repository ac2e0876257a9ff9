// Tests for the INI syntax layer: line numbers, sections, comments and syntax errors as inih
// (Debian's build, with minid's settings) splits them.
#include "common/config_ini.hpp"

#include <gtest/gtest.h>

namespace minid {
namespace {

TEST(ReadIni, EntriesCarryLineAndSection) {
    const IniDocument d = read_ini("top = 1\n[a]\n\nx = 1\n; c\n[ b ]\ny: 2\n");
    EXPECT_TRUE(d.errors.empty());
    ASSERT_EQ(d.sections.size(), 2u);
    EXPECT_EQ(d.sections[0].line, 2);
    EXPECT_EQ(d.sections[0].name, "a");
    EXPECT_EQ(d.sections[1].line, 6);
    EXPECT_EQ(d.sections[1].name, "b");
    ASSERT_EQ(d.entries.size(), 3u);
    EXPECT_EQ(d.entries[0].line, 1);
    EXPECT_FALSE(d.entries[0].section.has_value());
    EXPECT_EQ(d.entries[1].line, 4);
    EXPECT_EQ(d.entries[1].section, "a");
    EXPECT_EQ(d.entries[1].key, "x");
    EXPECT_EQ(d.entries[2].line, 7);
    EXPECT_EQ(d.entries[2].section, "b");
    EXPECT_EQ(d.entries[2].key, "y");
    EXPECT_EQ(d.entries[2].value, "2");
}

TEST(ReadIni, ValuesAreTrimmedAndLoseInlineComments) {
    const IniDocument d =
        read_ini("[s]\na =   spaced value   \nb = v ; semi\nc = v # hash\nd = v;glued#too\ne =\n");
    EXPECT_TRUE(d.errors.empty());
    ASSERT_EQ(d.entries.size(), 5u);
    EXPECT_EQ(d.entries[0].value, "spaced value");
    EXPECT_EQ(d.entries[1].value, "v");
    EXPECT_EQ(d.entries[2].value, "v");
    EXPECT_EQ(d.entries[3].value, "v;glued#too");
    EXPECT_EQ(d.entries[4].value, "");
}

TEST(ReadIni, EverySyntaxErrorIsReportedNotJustTheFirst) {
    const IniDocument d = read_ini("[s]\nnot a pair\nok = 1\n[broken\nlost = 1\n[t] junk\nk = v\n");
    ASSERT_EQ(d.errors.size(), 3u);
    EXPECT_EQ(d.errors[0].line, 2);
    EXPECT_EQ(d.errors[0].message, "expected 'key = value', '[section]' or a comment");
    EXPECT_EQ(d.errors[1].line, 4);
    EXPECT_EQ(d.errors[1].message, "section header is missing ']'");
    EXPECT_EQ(d.errors[2].line, 6);
    EXPECT_EQ(d.errors[2].message, "unexpected text after '[t]'");
    // "lost" followed a malformed header and is dropped; "k" still counts under [t].
    ASSERT_EQ(d.entries.size(), 2u);
    EXPECT_EQ(d.entries[0].key, "ok");
    EXPECT_EQ(d.entries[1].key, "k");
    EXPECT_EQ(d.entries[1].section, "t");
    EXPECT_EQ(d.entries[1].line, 7);
}

TEST(ReadIni, LinesLongerThanInihsDefaultBufferKeepTheirLineNumbers) {
    // inih's default buffer is 200 bytes; longer values must arrive whole, and later lines
    // must keep their numbers.
    const std::string long_value(3000, 'v');
    const IniDocument d = read_ini("[s]\nk = " + long_value + "\nafter = 1\n");
    EXPECT_TRUE(d.errors.empty());
    ASSERT_EQ(d.entries.size(), 2u);
    EXPECT_EQ(d.entries[0].value, long_value);
    EXPECT_EQ(d.entries[1].line, 3);
}

TEST(ReadIni, LineLimitIsExact) {
    const std::string at_limit = "k = " + std::string(kMaxIniLine - 4, 'v');
    const IniDocument ok = read_ini("[s]\n" + at_limit + "\n");
    EXPECT_TRUE(ok.errors.empty());
    ASSERT_EQ(ok.entries.size(), 1u);
    EXPECT_EQ(ok.entries[0].value.size(), kMaxIniLine - 4);

    const IniDocument over = read_ini("[s]\n" + at_limit + "v\nnext = 1\n");
    ASSERT_EQ(over.errors.size(), 1u);
    EXPECT_EQ(over.errors[0].line, 2);
    ASSERT_EQ(over.entries.size(), 1u);
    EXPECT_EQ(over.entries[0].key, "next");
    EXPECT_EQ(over.entries[0].line, 3);
}

TEST(ReadIni, LastLineWithoutNewline) {
    const IniDocument d = read_ini("[s]\nk = v");
    EXPECT_TRUE(d.errors.empty());
    ASSERT_EQ(d.entries.size(), 1u);
    EXPECT_EQ(d.entries[0].value, "v");
}

TEST(ReadIni, EmptyAndCommentOnlyTexts) {
    EXPECT_TRUE(read_ini("").entries.empty());
    const IniDocument d = read_ini("\n\n# a\n; b\n   \n");
    EXPECT_TRUE(d.entries.empty());
    EXPECT_TRUE(d.errors.empty());
    EXPECT_TRUE(d.sections.empty());
}

}  // namespace
}  // namespace minid
