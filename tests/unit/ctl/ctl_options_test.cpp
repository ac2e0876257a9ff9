// Tests for minidctl's command-line parsing: every command, option spellings and usage errors.
#include "ctl/ctl_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace minid::ctl {
namespace {

using namespace std::chrono_literals;

Expected<CtlOptions> parse(const std::vector<const char*>& args) {
    std::vector<std::string> storage{"minidctl"};
    for (const char* a : args) storage.emplace_back(a);
    std::vector<char*> argv;
    for (std::string& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    return parse_ctl_options(static_cast<int>(storage.size()), argv.data());
}

TEST(CtlOptions, Commands) {
    auto s = parse({"status"});
    ASSERT_TRUE(s.ok()) << s.failure().message;
    EXPECT_EQ(s->command, control::Command::status);
    EXPECT_FALSE(s->json);
    EXPECT_EQ(s->effective_timeout(), 10s);

    auto j = parse({"status", "--json"});
    ASSERT_TRUE(j.ok());
    EXPECT_TRUE(j->json);

    auto r = parse({"reload"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->command, control::Command::reload);
    EXPECT_EQ(r->effective_timeout(), 120s);

    auto st = parse({"--fast", "stop", "--no-wait"});
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->command, control::Command::stop);
    EXPECT_TRUE(st->fast);
    EXPECT_TRUE(st->no_wait);

    auto w = parse({"workers", "4"});
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w->workers, 4u);

    EXPECT_EQ(parse({"reopen"})->command, control::Command::reopen);
    EXPECT_EQ(parse({"metrics"})->command, control::Command::metrics);
}

TEST(CtlOptions, SocketAndConfigSpellings) {
    EXPECT_EQ(*parse({"--control", "/run/x.sock", "status"})->control_path, "/run/x.sock");
    EXPECT_EQ(*parse({"--control=/run/y.sock", "status"})->control_path, "/run/y.sock");
    EXPECT_EQ(*parse({"-c", "/etc/m.conf", "status"})->config_path, "/etc/m.conf");
    EXPECT_EQ(*parse({"-c/etc/n.conf", "status"})->config_path, "/etc/n.conf");
    EXPECT_EQ(*parse({"--config", "/etc/o.conf", "status"})->config_path, "/etc/o.conf");
    EXPECT_EQ(*parse({"status", "--config=/etc/p.conf"})->config_path, "/etc/p.conf");
}

TEST(CtlOptions, Timeout) {
    EXPECT_EQ(parse({"--timeout", "2.5", "reload"})->effective_timeout(), 2500ms);
    EXPECT_EQ(parse({"status", "--timeout=30"})->effective_timeout(), 30s);
    for (const char* bad : {"0", "-1", "x", "1e9", ""}) {
        auto r = parse({"--timeout", bad, "status"});
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.failure().code, kExitUsage);
        EXPECT_NE(r.failure().message.find("--timeout"), std::string::npos);
    }
}

TEST(CtlOptions, HelpAndVersionNeedNoCommand) {
    EXPECT_TRUE(parse({"--help"})->show_help);
    EXPECT_TRUE(parse({"-h"})->show_help);
    EXPECT_TRUE(parse({"-V"})->show_version);
}

TEST(CtlOptions, UsageErrors) {
    const std::vector<std::pair<std::vector<const char*>, const char*>> cases = {
        {{}, "no command"},
        {{"restart"}, "unknown command 'restart'"},
        {{"--bogus", "status"}, "unknown option --bogus"},
        {{"workers"}, "workers needs a count"},
        {{"workers", "0"}, "positive count"},
        {{"workers", "-3"}, "unknown option -3"},
        {{"workers", "two"}, "positive count, not 'two'"},
        {{"workers", "2", "3"}, "unexpected argument '3'"},
        {{"status", "extra"}, "unexpected argument 'extra'"},
        {{"reload", "--json"}, "--json goes with status only"},
        {{"status", "--fast"}, "--fast goes with stop only"},
        {{"--control", "/a", "-c", "/b", "status"}, "not both"},
        {{"status", "--control"}, "--control needs"},
        {{"status", "-c"}, "-c needs"},
    };
    for (const auto& [args, message] : cases) {
        auto r = parse(args);
        ASSERT_FALSE(r.ok()) << message;
        EXPECT_EQ(r.failure().code, kExitUsage);
        EXPECT_NE(r.failure().message.find(message), std::string::npos)
            << r.failure().message << " should mention " << message;
        EXPECT_NE(r.failure().message.find("minidctl --help"), std::string::npos);
    }
}

TEST(CtlOptions, UsageListsEveryCommandAndExitCode) {
    const std::string u = ctl_usage();
    for (const char* w :
         {"status", "reload", "stop", "reopen", "workers N", "metrics", "--json", "--fast",
          "--control", "-c, --config", "--timeout", "3 minid not running", "5 protocol error"})
        EXPECT_NE(u.find(w), std::string::npos) << w;
}

}  // namespace
}  // namespace minid::ctl
