// Tests for the master re-exec's pieces that need no process: the handover's JSON round trip and
// its rejection of other versions and garbage, the binary-changed test, and the probe's verdicts.
#include "daemon/reexec.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace minid::reexec {
namespace {

Handover sample() {
    Handover h;
    h.started_unix_ms = 1'700'000'000'123;
    h.serving_config = "[server]\nworkers = 2\n";
    h.from_systemd = false;
    h.listeners.push_back({3, "127.0.0.1:8080", "127.0.0.1:8080", "127.0.0.1:8080"});
    h.listeners.push_back({4, "unix:/run/x", "unix:/run/x", "unix:/run/x"});
    h.stats_fd = 5;
    h.control_fd = 6;
    h.reload_waiter_fds = {7};
    h.exited.workers = 3;
    h.exited.requests = 12345;
    h.exited.bytes_out = 999;
    h.exited.status_class[1] = 12000;
    h.exited.status_class[3] = 345;
    h.session_ticket_keys = std::string("\x01\x00\xff", 3) + std::string(78, '\x7f');
    auto& s = h.supervisor;
    s.last_generation = 9;
    s.serving_generation = 9;
    s.target_workers = 2;
    s.reloads_ok = 7;
    s.reloads_failed = 1;
    s.last_reload_error = "";
    s.consecutive_crashes = 2;
    s.workers.push_back({101, 9, WorkerPhase::serving, 5000, 0, false});
    s.workers.push_back({102, 8, WorkerPhase::draining, 9000, 2500, false});
    s.workers.push_back({103, 7, WorkerPhase::draining, 99000, 0, true});
    h.workers.push_back({101, 0, 10, 1'700'000'000'500});
    h.workers.push_back({102, 1, 11, 1'700'000'000'400});
    h.workers.push_back({103, 2, 12, 1'700'000'000'300});
    return h;
}

TEST(Reexec, HandoverRoundTrips) {
    const Handover h = sample();
    auto back = decode(encode(h));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->started_unix_ms, h.started_unix_ms);
    EXPECT_EQ(back->serving_config, h.serving_config);
    ASSERT_EQ(back->listeners.size(), 2u);
    EXPECT_EQ(back->listeners[1].fd, 4);
    EXPECT_EQ(back->listeners[1].address, "unix:/run/x");
    EXPECT_EQ(back->stats_fd, 5);
    EXPECT_EQ(back->control_fd, 6);
    EXPECT_EQ(back->reload_waiter_fds, std::vector<int>{7});
    EXPECT_EQ(back->exited, h.exited);
    EXPECT_EQ(back->session_ticket_keys, h.session_ticket_keys) << "binary bytes survive JSON";
    EXPECT_EQ(back->supervisor.last_generation, 9u);
    EXPECT_EQ(back->supervisor.reloads_ok, 7u);
    EXPECT_EQ(back->supervisor.consecutive_crashes, 2u);
    ASSERT_EQ(back->supervisor.workers.size(), 3u);
    EXPECT_EQ(back->supervisor.workers[1].phase, WorkerPhase::draining);
    EXPECT_EQ(back->supervisor.workers[1].kill_in_ms, 2500u);
    EXPECT_TRUE(back->supervisor.workers[2].kill_overdue);
    EXPECT_EQ(back->workers[2].link_fd, 12);
    EXPECT_EQ(back->workers[0].spawned_unix_ms, 1'700'000'000'500u);
    EXPECT_EQ(back->fds(), (std::vector<int>{3, 4, 5, 6, 7, 10, 11, 12}))
        << "exactly these fds survive execve";
}

TEST(Reexec, HandoverOfAnotherVersionOrGarbageIsRefused) {
    std::string text = encode(sample());
    const std::string v = "\"version\":" + std::to_string(kStateVersion);
    ASSERT_NE(text.find(v), std::string::npos);
    text.replace(text.find(v), v.size(), "\"version\":99");
    auto other = decode(text);
    ASSERT_FALSE(other.ok());
    EXPECT_NE(other.error().find("version 99"), std::string::npos) << other.error();
    EXPECT_FALSE(decode("not json").ok());
    auto missing = decode("{\"version\":" + std::to_string(kStateVersion) + "}");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().find("re-exec state:"), std::string::npos) << missing.error();
}

struct TempDirectory {
    std::string path;
    TempDirectory() {
        char tmpl[] = "/tmp/minid-reexec-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDirectory() { std::system(("rm -rf " + path).c_str()); }
};

void write_script(const std::string& path, const std::string& body) {
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
}

TEST(Reexec, BinaryReplacedComparesTheRunningImageWithThePath) {
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    ASSERT_GT(n, 0);
    const std::string me(self, static_cast<size_t>(n));
    EXPECT_FALSE(binary_replaced(me));
    TempDirectory dir;
    write_script(dir.path + "/other", "exit 0\n");
    EXPECT_TRUE(binary_replaced(dir.path + "/other"));
    EXPECT_FALSE(binary_replaced(dir.path + "/missing")) << "nothing there to re-execute";
}

TEST(Reexec, ProbeSucceedsOnlyWhenTheNewBinaryExitsZero) {
    TempDirectory dir;
    // The probe finds the state in the memfd named by the environment, as the new master would.
    write_script(dir.path + "/good",
                 "case \"$1\" in --reexec-probe=*) ;; *) exit 9;; esac\n"
                 "grep -q '\"reloads_ok\":7' /proc/self/fd/$MINID_REEXEC_STATE_FD || exit 8\n");
    EXPECT_TRUE(probe(dir.path + "/good", {"-c", "/etc/minid/minid.conf"}, sample()).ok());

    write_script(dir.path + "/broken", "exit 1\n");
    auto broken = probe(dir.path + "/broken", {}, sample());
    ASSERT_FALSE(broken.ok());
    EXPECT_NE(broken.error().find("cannot take over as master: its re-exec probe exited with "
                                  "status 1"),
              std::string::npos)
        << broken.error();

    write_script(dir.path + "/old", "exit 3\n");
    auto old = probe(dir.path + "/old", {}, sample());
    ASSERT_FALSE(old.ok());
    EXPECT_NE(old.error().find("speaks another protocol"), std::string::npos) << old.error();

    std::ofstream(dir.path + "/garbage") << "\x7f"
                                            "ELF truncated";
    ::chmod((dir.path + "/garbage").c_str(), 0755);
    auto garbage = probe(dir.path + "/garbage", {}, sample());
    ASSERT_FALSE(garbage.ok());
    EXPECT_NE(garbage.error().find("could not be executed"), std::string::npos) << garbage.error();
}

}  // namespace
}  // namespace minid::reexec
