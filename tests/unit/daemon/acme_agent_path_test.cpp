// Tests for finding minid-acme-agent: next to minid first, then the install path, and an error
// that names each candidate with its reason when neither can be run.
#include "daemon/acme_agent_path.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/unit/worker/http/temp_tree.hpp"

namespace minid {
namespace {

using http::testing::TempTree;

void program(const TempTree& t, const std::string& rel, mode_t mode = 0755) {
    t.write(rel, "#!/bin/sh\n");
    ASSERT_EQ(::chmod(t.path(rel).c_str(), mode), 0);
}

TEST(FindAcmeAgent, PrefersTheOneNextToMinid) {
    TempTree t;
    program(t, "build/minid-acme-agent");
    program(t, "libexec/minid-acme-agent");
    auto found = find_acme_agent(t.path("build/minid"), t.path("libexec/minid-acme-agent"));
    ASSERT_TRUE(found) << found.error();
    EXPECT_EQ(*found, t.path("build/minid-acme-agent"));
}

TEST(FindAcmeAgent, FallsBackToTheInstallPath) {
    TempTree t;
    program(t, "libexec/minid-acme-agent");
    auto found = find_acme_agent(t.path("sbin/minid"), t.path("libexec/minid-acme-agent"));
    ASSERT_TRUE(found) << found.error();
    EXPECT_EQ(*found, t.path("libexec/minid-acme-agent"));
}

TEST(FindAcmeAgent, NamesEveryCandidateAndWhyWhenNoneRuns) {
    TempTree t;
    program(t, "sbin/minid-acme-agent", 0644);  // not executable: skipped, and said so
    t.mkdir("libexec/minid-acme-agent");        // a directory is no program
    auto found = find_acme_agent(t.path("sbin/minid"), t.path("libexec/minid-acme-agent"));
    ASSERT_FALSE(found);
    const std::string& e = found.error();
    EXPECT_NE(e.find("minid-acme-agent, which is missing"), std::string::npos) << e;
    // root passes X_OK only when some execute bit is set, so the reason is EACCES for everyone.
    EXPECT_NE(e.find(t.path("sbin/minid-acme-agent") + ": Permission denied"), std::string::npos)
        << e;
    EXPECT_NE(e.find(t.path("libexec/minid-acme-agent") + ": not a regular file"),
              std::string::npos)
        << e;
}

TEST(FindAcmeAgent, AMissingFileSaysSo) {
    TempTree t;
    auto found = find_acme_agent(t.path("sbin/minid"), t.path("libexec/minid-acme-agent"));
    ASSERT_FALSE(found);
    EXPECT_NE(found.error().find(t.path("sbin/minid-acme-agent") + ": No such file or directory"),
              std::string::npos)
        << found.error();
    EXPECT_NE(
        found.error().find(t.path("libexec/minid-acme-agent") + ": No such file or directory"),
        std::string::npos)
        << found.error();
}

TEST(FindAcmeAgent, TheInstallPathIsNotTriedTwice) {
    TempTree t;
    auto found = find_acme_agent(t.path("libexec/minid"), t.path("libexec/minid-acme-agent"));
    ASSERT_FALSE(found);
    const std::string& e = found.error();
    EXPECT_EQ(e.find(t.path("libexec/minid-acme-agent")),
              e.rfind(t.path("libexec/minid-acme-agent")))
        << e;
}

}  // namespace
}  // namespace minid
