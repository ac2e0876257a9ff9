// Tests for the diagnostic log's level parsing and filtering.
#include "common/log.hpp"

#include <gtest/gtest.h>

namespace minid::log {
namespace {

TEST(LogLevel, ParsesNamesAndRejectsUnknown) {
    Level l{};
    EXPECT_TRUE(parse_level("debug", &l));
    EXPECT_EQ(l, Level::debug);
    EXPECT_TRUE(parse_level("warning", &l));
    EXPECT_EQ(l, Level::warn);
    EXPECT_FALSE(parse_level("loud", &l));
    EXPECT_FALSE(parse_level("", &l));
}

TEST(LogLevel, FiltersAboveTheSetLevel) {
    const Level saved = level();
    set_level(Level::warn);
    EXPECT_TRUE(enabled(Level::error));
    EXPECT_TRUE(enabled(Level::warn));
    EXPECT_FALSE(enabled(Level::info));
    set_level(saved);
}

TEST(SysError, NamesCallSubjectAndErrno) {
    EXPECT_EQ(sys_error("open", "/x", ENOENT), "open(/x) failed: No such file or directory");
    EXPECT_EQ(sys_error("epoll_wait", EINTR), "epoll_wait failed: Interrupted system call");
}

}  // namespace
}  // namespace minid::log
