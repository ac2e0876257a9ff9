// Tests for config value syntax: durations, sizes, counts, switches, workers, modes, server names,
// representable strings, absolute paths and the edit distance behind "did you mean".
#include "common/config_values.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

namespace minid {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

struct DurationCase {
    const char* text;
    milliseconds value;
};

class DurationGood : public ::testing::TestWithParam<DurationCase> {};

TEST_P(DurationGood, Parses) {
    auto d = parse_duration(GetParam().text);
    ASSERT_TRUE(d.ok()) << GetParam().text << ": " << d.error();
    EXPECT_EQ(*d, GetParam().value) << GetParam().text;
    // The canonical form means the same duration.
    auto again = parse_duration(format_duration(*d));
    ASSERT_TRUE(again.ok()) << again.error();
    EXPECT_EQ(*again, *d);
}

INSTANTIATE_TEST_SUITE_P(Table, DurationGood,
                         ::testing::Values(DurationCase{"30", 30s}, DurationCase{"30s", 30s},
                                           DurationCase{"500ms", 500ms}, DurationCase{"2m", 2min},
                                           DurationCase{"1h", 1h}, DurationCase{"0", 0ms},
                                           DurationCase{"1ms", 1ms}, DurationCase{"90s", 90s},
                                           DurationCase{"007s", 7s}, DurationCase{"86400", 24h}));

struct BadText {
    const char* text;
    const char* error;
};

class DurationBad : public ::testing::TestWithParam<BadText> {};

TEST_P(DurationBad, IsRejected) {
    auto d = parse_duration(GetParam().text);
    ASSERT_FALSE(d.ok()) << GetParam().text;
    EXPECT_EQ(d.error(), GetParam().error);
}

constexpr const char* kDurationExpected = "expected a duration such as 30s, 500ms, 2m or 1h";
INSTANTIATE_TEST_SUITE_P(
    Table, DurationBad,
    ::testing::Values(BadText{"", kDurationExpected}, BadText{"s", kDurationExpected},
                      BadText{"1.5s", kDurationExpected}, BadText{"-1", kDurationExpected},
                      BadText{"10 s", kDurationExpected}, BadText{"5d", kDurationExpected},
                      BadText{"1H", kDurationExpected}, BadText{"1sec", kDurationExpected},
                      BadText{"99999999999999999999", "duration is too large"},
                      BadText{"9999999999999999h", "duration is too large"}));

TEST(FormatDuration, UsesTheLargestExactUnit) {
    EXPECT_EQ(format_duration(3600s), "1h");
    EXPECT_EQ(format_duration(7200s), "2h");
    EXPECT_EQ(format_duration(90min), "90m");
    EXPECT_EQ(format_duration(120s), "2m");
    EXPECT_EQ(format_duration(90s), "90s");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(1ms), "1ms");
    EXPECT_EQ(format_duration(0ms), "0ms");
}

TEST(MicroDuration, ParsesMicrosecondsAndCoarserUnits) {
    using std::chrono::microseconds;
    const std::pair<const char*, microseconds> good[] = {
        {"50us", 50us}, {"0", 0us}, {"1ms", 1000us}, {"2s", 2s}, {"1m", 1min}, {"007us", 7us}};
    for (const auto& [text, value] : good) {
        auto d = parse_micro_duration(text);
        ASSERT_TRUE(d.ok()) << text << ": " << d.error();
        EXPECT_EQ(*d, value) << text;
        auto again = parse_micro_duration(format_micro_duration(*d));
        ASSERT_TRUE(again.ok()) << again.error();
        EXPECT_EQ(*again, *d) << text;
    }
    for (const char* text : {"", "us", "1.5ms", "-1us", "5ns", "1 us", "1US"}) {
        auto d = parse_micro_duration(text);
        ASSERT_FALSE(d.ok()) << text;
        EXPECT_EQ(d.error(), "expected a duration such as 50us, 1ms or 0") << text;
    }
    EXPECT_EQ(parse_micro_duration("9999999999999999h").error(), "duration is too large");
    // Milliseconds know nothing finer.
    EXPECT_FALSE(parse_duration("50us").ok());
}

TEST(FormatMicroDuration, UsesTheLargestExactUnit) {
    EXPECT_EQ(format_micro_duration(50us), "50us");
    EXPECT_EQ(format_micro_duration(1500us), "1500us");
    EXPECT_EQ(format_micro_duration(2000us), "2ms");
    EXPECT_EQ(format_micro_duration(3s), "3s");
    EXPECT_EQ(format_micro_duration(0us), "0us");
}

struct SizeCase {
    const char* text;
    uint64_t value;
};

class SizeGood : public ::testing::TestWithParam<SizeCase> {};

TEST_P(SizeGood, Parses) {
    auto s = parse_size(GetParam().text);
    ASSERT_TRUE(s.ok()) << GetParam().text << ": " << s.error();
    EXPECT_EQ(*s, GetParam().value);
    auto again = parse_size(format_size(*s));
    ASSERT_TRUE(again.ok()) << again.error();
    EXPECT_EQ(*again, *s);
}

INSTANTIATE_TEST_SUITE_P(Table, SizeGood,
                         ::testing::Values(SizeCase{"8192", 8192}, SizeCase{"8k", 8192},
                                           SizeCase{"8K", 8192}, SizeCase{"1m", 1u << 20},
                                           SizeCase{"1M", 1u << 20}, SizeCase{"1g", 1ull << 30},
                                           SizeCase{"0", 0}, SizeCase{"1000", 1000},
                                           SizeCase{"1024g", 1ull << 40}));

class SizeBad : public ::testing::TestWithParam<BadText> {};

TEST_P(SizeBad, IsRejected) {
    auto s = parse_size(GetParam().text);
    ASSERT_FALSE(s.ok()) << GetParam().text;
    EXPECT_EQ(s.error(), GetParam().error);
}

constexpr const char* kSizeExpected = "expected a size such as 8192, 8k, 1m or 1g";
INSTANTIATE_TEST_SUITE_P(
    Table, SizeBad,
    ::testing::Values(BadText{"", kSizeExpected}, BadText{"k", kSizeExpected},
                      BadText{"8kb", kSizeExpected}, BadText{"1.5m", kSizeExpected},
                      BadText{"1t", kSizeExpected}, BadText{"-8", kSizeExpected},
                      BadText{"8 k", kSizeExpected}, BadText{"17179869184g", "size is too large"},
                      BadText{"99999999999999999999", "size is too large"}));

TEST(FormatSize, UsesTheLargestExactUnit) {
    EXPECT_EQ(format_size(8192), "8k");
    EXPECT_EQ(format_size(1u << 20), "1m");
    EXPECT_EQ(format_size(3ull << 30), "3g");
    EXPECT_EQ(format_size(1536), "1536");
    EXPECT_EQ(format_size(1536 * 1024), "1536k");
    EXPECT_EQ(format_size(0), "0");
}

TEST(ParseCount, DigitsOnly) {
    EXPECT_EQ(parse_count("512").value(), 512u);
    EXPECT_EQ(parse_count("0").value(), 0u);
    EXPECT_EQ(parse_count("1k").error(), "expected a whole number");
    EXPECT_EQ(parse_count("").error(), "expected a whole number");
    EXPECT_EQ(parse_count("+1").error(), "expected a whole number");
    EXPECT_EQ(parse_count("99999999999999999999").error(), "number is too large");
}

TEST(ParseWorkers, AutoOrOneToMax) {
    EXPECT_EQ(parse_workers("auto").value(), 0u);
    EXPECT_EQ(parse_workers("1").value(), 1u);
    EXPECT_EQ(parse_workers(std::to_string(kMaxWorkers)).value(), kMaxWorkers);
    const std::string expected =
        "expected 'auto' or a number from 1 to " + std::to_string(kMaxWorkers);
    for (const char* bad : {"0", "257", "Auto", "", "-1", "2x"})
        EXPECT_EQ(parse_workers(bad).error(), expected) << bad;
    EXPECT_EQ(format_workers(0), "auto");
    EXPECT_EQ(format_workers(12), "12");
}

TEST(FileMode, OctalPermissionBits) {
    EXPECT_EQ(parse_file_mode("0660").value(), 0660u);
    EXPECT_EQ(parse_file_mode("660").value(), 0660u);
    EXPECT_EQ(parse_file_mode("0").value(), 0u);
    EXPECT_EQ(parse_file_mode("0777").value(), 0777u);
    EXPECT_EQ(parse_file_mode("0668").error(), "expected octal permission bits such as 0660");
    EXPECT_EQ(parse_file_mode("rw-").error(), "expected octal permission bits such as 0660");
    EXPECT_EQ(parse_file_mode("00660").error(), "expected octal permission bits such as 0660");
    EXPECT_EQ(parse_file_mode("").error(), "expected octal permission bits such as 0660");
    EXPECT_EQ(parse_file_mode("1777").error(), "only permission bits (at most 0777) are allowed");
    EXPECT_EQ(format_file_mode(0600), "0600");
    EXPECT_EQ(format_file_mode(0), "0000");
    EXPECT_EQ(format_file_mode(0755), "0755");
}

TEST(ServerName, TokenCharactersAndSlash) {
    EXPECT_TRUE(is_server_name("minid"));
    EXPECT_TRUE(is_server_name("minid/0.1.0"));
    EXPECT_TRUE(is_server_name("a!#$%&'*+-.^_`|~z"));
    EXPECT_FALSE(is_server_name(""));
    EXPECT_FALSE(is_server_name("minid 1.0"));
    EXPECT_FALSE(is_server_name("\"minid\""));
    EXPECT_FALSE(is_server_name("a\r\nX-Injected: 1"));
    EXPECT_FALSE(is_server_name("caf\xc3\xa9"));
    EXPECT_FALSE(is_server_name("a;b"));
}

TEST(Representable, ValuesInihReadsBackUnchanged) {
    EXPECT_EQ(unrepresentable_reason(""), std::nullopt);
    EXPECT_EQ(unrepresentable_reason("/srv/my site"), std::nullopt);
    EXPECT_EQ(unrepresentable_reason("a;b#c"), std::nullopt);
    EXPECT_EQ(unrepresentable_reason("a ;b").value(),
              "a space followed by ';' or '#' starts a comment in minid.conf");
    EXPECT_EQ(unrepresentable_reason("a\t#b").value(),
              "control characters (tab, newline...) are not allowed");
    EXPECT_EQ(unrepresentable_reason("a #b").value(),
              "a space followed by ';' or '#' starts a comment in minid.conf");
    EXPECT_EQ(unrepresentable_reason(";a").value(),
              "a value cannot start with ';' or '#' (a comment)");
    EXPECT_EQ(unrepresentable_reason("#a").value(),
              "a value cannot start with ';' or '#' (a comment)");
    EXPECT_EQ(unrepresentable_reason(" a").value(), "leading or trailing spaces are not allowed");
    EXPECT_EQ(unrepresentable_reason("a ").value(), "leading or trailing spaces are not allowed");
    EXPECT_EQ(unrepresentable_reason("a\nb").value(),
              "control characters (tab, newline...) are not allowed");
}

TEST(MakeAbsolute, JoinsRelativePathsToTheCwd) {
    const std::string cwd = std::filesystem::current_path().string();
    EXPECT_EQ(make_absolute("/srv/www").value(), "/srv/www");
    EXPECT_EQ(make_absolute("site").value(), cwd + "/site");
    EXPECT_EQ(make_absolute("./site").value(), cwd + "/site");
    EXPECT_EQ(make_absolute("././site/x").value(), cwd + "/site/x");
    EXPECT_EQ(make_absolute(".").value(), cwd);
    EXPECT_EQ(make_absolute("../up").value(), cwd + "/../up");
}

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
    EXPECT_EQ(edit_distance("listen", "listen"), 0u);
    EXPECT_EQ(edit_distance("lsten", "listen"), 1u);
    EXPECT_EQ(edit_distance("lisetn", "listen"), 1u);
    EXPECT_EQ(edit_distance("Workers", "workers"), 1u);
    EXPECT_EQ(edit_distance("wrkrs", "workers"), 2u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("keepalive", "keepalive_timeout"), 8u);
}

TEST(ConfigValues, SwitchesAreOnOrOffInAnyOfTheUsualSpellings) {
    for (const char* on : {"on", "ON", "yes", "True", "1"})
        EXPECT_TRUE(parse_switch(on).value()) << on;
    for (const char* off : {"off", "No", "false", "0"})
        EXPECT_FALSE(parse_switch(off).value()) << off;
    for (const char* bad : {"", "onn", "2", "enabled"})
        EXPECT_EQ(parse_switch(bad).error(), "expected 'on' or 'off'") << bad;
    EXPECT_EQ(format_switch(true), "on");
    EXPECT_EQ(format_switch(false), "off");
}

}  // namespace
}  // namespace minid
