// Tests for socket activation and sd_notify without libsystemd: the variables systemd sets, read
// as sd_listen_fds(3) and sd_notify(3) describe them, on real sockets.
#include "common/systemd_protocol.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "tests/unit/worker/http/temp_tree.hpp"

namespace minid::systemd {
namespace {

using http::testing::TempTree;

UniqueFd tcp_socket(bool listening) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listening) {
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(fd.get(), 4), 0);
    }
    return fd;
}

void set_env(const char* name, const std::string& value) {
    ::setenv(name, value.c_str(), 1);
}

// In a child (EXPECT_EXIT): two listening sockets at fds 3 and 4, the variables for this pid;
// exits 0 when they come back with their names, close-on-exec, and the variables are gone.
[[noreturn]] void passed_sockets_child(const char* names) {
    UniqueFd a = tcp_socket(true), b = tcp_socket(true);
    if (::dup2(a.get(), 3) != 3 || ::dup2(b.get(), 4) != 4) std::_Exit(10);
    set_env("LISTEN_PID", std::to_string(::getpid()));
    set_env("LISTEN_FDS", "2");
    if (names) set_env("LISTEN_FDNAMES", names);
    auto got = take_listen_fds();
    if (!got || got->size() != 2) std::_Exit(11);
    const std::string first = names ? "http" : "unknown", second = names ? "" : "unknown";
    if ((*got)[0].fd != 3 || (*got)[0].name != first) std::_Exit(12);
    if ((*got)[1].fd != 4 || (*got)[1].name != second) std::_Exit(13);
    if (!(::fcntl(3, F_GETFD) & FD_CLOEXEC) || !(::fcntl(4, F_GETFD) & FD_CLOEXEC)) std::_Exit(14);
    if (std::getenv("LISTEN_PID") || std::getenv("LISTEN_FDS") || std::getenv("LISTEN_FDNAMES"))
        std::_Exit(15);
    if (!is_listening_stream_socket(3)) std::_Exit(16);
    std::_Exit(0);
}

TEST(TakeListenFds, ReturnsTheNamedFdsCloseOnExecAndUnsetsTheVariables) {
    EXPECT_EXIT(passed_sockets_child("http:"), testing::ExitedWithCode(0), "");
}

TEST(TakeListenFds, NamesAreUnknownWithoutListenFdnames) {
    EXPECT_EXIT(passed_sockets_child(nullptr), testing::ExitedWithCode(0), "");
}

TEST(TakeListenFds, NothingWithoutTheVariablesOrForAnotherProcess) {
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    auto none = take_listen_fds();
    ASSERT_TRUE(none) << none.error();
    EXPECT_TRUE(none->empty());

    set_env("LISTEN_PID", std::to_string(::getppid()));
    set_env("LISTEN_FDS", "2");
    set_env("LISTEN_FDNAMES", "a:b");
    auto other = take_listen_fds();
    ASSERT_TRUE(other) << other.error();
    EXPECT_TRUE(other->empty());
    EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr) << "unset for the other process's sake too";
}

TEST(TakeListenFds, MalformedVariablesAreErrors) {
    set_env("LISTEN_PID", std::to_string(::getpid()));
    set_env("LISTEN_FDS", "two");
    auto bad_count = take_listen_fds();
    ASSERT_FALSE(bad_count);
    EXPECT_NE(bad_count.error().find("LISTEN_FDS=two"), std::string::npos) << bad_count.error();

    set_env("LISTEN_PID", std::to_string(::getpid()));
    set_env("LISTEN_FDS", "2");
    set_env("LISTEN_FDNAMES", "only-one");
    auto bad_names = take_listen_fds();
    ASSERT_FALSE(bad_names);
    EXPECT_NE(bad_names.error().find("1 name(s) for LISTEN_FDS=2"), std::string::npos)
        << bad_names.error();

    set_env("LISTEN_PID", "12x");
    auto bad_pid = take_listen_fds();
    ASSERT_FALSE(bad_pid);
    EXPECT_NE(bad_pid.error().find("LISTEN_PID=12x"), std::string::npos) << bad_pid.error();
}

TEST(IsListeningStreamSocket, OnlyAListeningStreamSocket) {
    UniqueFd listening = tcp_socket(true), idle = tcp_socket(false);
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    UniqueFd r(pipe_fds[0]), w(pipe_fds[1]);
    EXPECT_TRUE(is_listening_stream_socket(listening.get()));
    EXPECT_FALSE(is_listening_stream_socket(idle.get()));
    EXPECT_FALSE(is_listening_stream_socket(udp.get()));
    EXPECT_FALSE(is_listening_stream_socket(r.get()));
    EXPECT_FALSE(is_listening_stream_socket(-1));
}

// A datagram socket bound at `path` ('@': abstract) to receive notifications.
UniqueFd notify_receiver(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    if (path[0] == '@') a.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len), 0) << std::strerror(errno);
    return fd;
}

std::string receive(int fd) {
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    return n < 0 ? std::string("(nothing: ") + std::strerror(errno) + ")"
                 : std::string(buf, static_cast<size_t>(n));
}

TEST(Notify, SendsOneDatagramToThePathOrAbstractSocket) {
    TempTree t;
    const std::string path = t.path("notify.sock");
    UniqueFd by_path = notify_receiver(path);
    set_env("NOTIFY_SOCKET", path);
    EXPECT_EQ(notify("READY=1\nSTATUS=serving"), 1);
    EXPECT_EQ(receive(by_path.get()), "READY=1\nSTATUS=serving");

    const std::string abstract = "@minid-test-notify-" + std::to_string(::getpid());
    UniqueFd by_name = notify_receiver(abstract);
    set_env("NOTIFY_SOCKET", abstract);
    EXPECT_EQ(notify("WATCHDOG=1"), 1);
    EXPECT_EQ(receive(by_name.get()), "WATCHDOG=1");

    set_env("NOTIFY_SOCKET", "relative.sock");
    EXPECT_EQ(notify("READY=1"), -EAFNOSUPPORT);
    set_env("NOTIFY_SOCKET", t.path("nobody-listens.sock"));
    EXPECT_EQ(notify("READY=1"), -ENOENT);
    ::unsetenv("NOTIFY_SOCKET");
    EXPECT_EQ(notify("READY=1"), 0) << "not under systemd: nothing to do";
}

TEST(WatchdogUsec, TheIntervalForThisProcessOnly) {
    ::unsetenv("WATCHDOG_PID");
    ::unsetenv("WATCHDOG_USEC");
    EXPECT_EQ(watchdog_usec(), 0u);
    set_env("WATCHDOG_USEC", "5000000");
    EXPECT_EQ(watchdog_usec(), 5'000'000u);
    set_env("WATCHDOG_PID", std::to_string(::getpid()));
    EXPECT_EQ(watchdog_usec(), 5'000'000u);
    set_env("WATCHDOG_PID", std::to_string(::getppid()));
    EXPECT_EQ(watchdog_usec(), 0u);
    set_env("WATCHDOG_PID", std::to_string(::getpid()));
    set_env("WATCHDOG_USEC", "soon");
    EXPECT_EQ(watchdog_usec(), 0u);
    ::unsetenv("WATCHDOG_PID");
    ::unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace minid::systemd
