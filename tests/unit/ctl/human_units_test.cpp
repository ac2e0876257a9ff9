// Tests for the status table's human-readable units.
#include "ctl/human_units.hpp"

#include <gtest/gtest.h>

namespace minid::ctl {
namespace {

TEST(HumanUnits, Bytes) {
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_bytes(1023), "1023 B");
    EXPECT_EQ(format_bytes(1024), "1.0 KiB");
    EXPECT_EQ(format_bytes(1536), "1.5 KiB");
    EXPECT_EQ(format_bytes(1024 * 1024 - 1), "1.0 MiB") << "never 1024.0 KiB";
    EXPECT_EQ(format_bytes(5ull << 30), "5.0 GiB");
    EXPECT_EQ(format_bytes(123456789012ull), "115.0 GiB");
    EXPECT_EQ(format_bytes(UINT64_MAX), "16.0 EiB");
}

TEST(HumanUnits, Durations) {
    EXPECT_EQ(format_duration(0), "0s");
    EXPECT_EQ(format_duration(59), "59s");
    EXPECT_EQ(format_duration(60), "1m00s");
    EXPECT_EQ(format_duration(3599), "59m59s");
    EXPECT_EQ(format_duration(3600), "1h00m");
    EXPECT_EQ(format_duration(3661), "1h01m");
    EXPECT_EQ(format_duration(86399), "23h59m");
    EXPECT_EQ(format_duration(86400 + 7200), "1d02h");
    EXPECT_EQ(format_duration(400ull * 86400), "400d00h");
}

TEST(HumanUnits, Rates) {
    EXPECT_EQ(format_rate(0), "0.0");
    EXPECT_EQ(format_rate(12.34), "12.3");
    EXPECT_EQ(format_rate(12.35 + 1e-9), "12.4");
    EXPECT_EQ(format_rate(-1), "0.0");
}

}  // namespace
}  // namespace minid::ctl
