// Tests for finding the control socket: --control, -c CONFIG (also a broken one), the default.
#include "ctl/socket_path.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/build_info.hpp"

namespace minid::ctl {
namespace {

TEST(SocketPath, FromAValidConfig) {
    auto p =
        control_socket_from_config_text("[server]\ncontrol_socket = /run/a/ctl.sock\n", "m.conf");
    ASSERT_TRUE(p.ok()) << p.failure().message;
    EXPECT_EQ(*p, "/run/a/ctl.sock");
}

TEST(SocketPath, ConfigWithoutTheKeyMeansTheDefault) {
    auto p = control_socket_from_config_text("[server]\nworkers = 2\n", "m.conf");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, build::default_control_socket);
}

TEST(SocketPath, BrokenConfigStillYieldsItsSocket) {
    // The operator is about to `minidctl -c ... reload` a config with a typo elsewhere: minidctl
    // must still reach minid so minid can report the typo.
    auto p = control_socket_from_config_text(
        "[server]\nlsten = 1\ncontrol_socket = /run/b/ctl.sock\n[http]\nindex=\n", "m.conf");
    ASSERT_TRUE(p.ok()) << p.failure().message;
    EXPECT_EQ(*p, "/run/b/ctl.sock");
}

TEST(SocketPath, SocketOffIsNotRunning) {
    for (const char* text :
         {"[server]\ncontrol_socket = off\n", "[server]\nlsten=1\ncontrol_socket = off\n"}) {
        auto p = control_socket_from_config_text(text, "m.conf");
        ASSERT_FALSE(p.ok()) << text;
        EXPECT_EQ(p.failure().code, kExitNotRunning);
        EXPECT_NE(p.failure().message.find("off in m.conf"), std::string::npos);
    }
}

TEST(SocketPath, Resolution) {
    CtlOptions o;
    EXPECT_EQ(*resolve_socket_path(o), build::default_control_socket);
    o.control_path = "/tmp/explicit.sock";
    EXPECT_EQ(*resolve_socket_path(o), "/tmp/explicit.sock");

    CtlOptions c;
    c.config_path = "/nonexistent/minid.conf";
    auto missing = resolve_socket_path(c);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.failure().code, kExitUsage);
    EXPECT_NE(missing.failure().message.find("/nonexistent/minid.conf"), std::string::npos);

    const auto file = std::filesystem::temp_directory_path() /
                      ("minidctl-socket-path-test-" + std::to_string(::getpid()) + ".conf");
    std::ofstream(file) << "[server]\ncontrol_socket = /run/c/ctl.sock\n";
    c.config_path = file.string();
    auto from_file = resolve_socket_path(c);
    std::filesystem::remove(file);
    ASSERT_TRUE(from_file.ok()) << from_file.failure().message;
    EXPECT_EQ(*from_file, "/run/c/ctl.sock");
}

}  // namespace
}  // namespace minid::ctl
