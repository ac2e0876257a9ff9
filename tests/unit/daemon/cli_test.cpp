// Tests for minid's command-line parser: accepted spellings, overrides, and each error message.
#include "daemon/cli.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace minid {
namespace {

// Owns argv strings for one call; argv[argc] is null as in a real exec.
Result<CommandLine> parse(const std::vector<const char*>& args) {
    std::vector<std::string> storage{"minid"};
    for (const char* a : args) storage.emplace_back(a);
    std::vector<char*> argv;
    for (std::string& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(storage.size()), argv.data());
}

ListenAddress addr(std::string_view text) {
    return ListenAddress::parse(text).value();
}

TEST(CommandLine, NoArgumentsMeansDefaults) {
    auto cl = parse({});
    ASSERT_TRUE(cl.ok()) << cl.error();
    EXPECT_EQ(cl->config_path, "");
    EXPECT_TRUE(cl->overrides.listen.empty());
    EXPECT_FALSE(cl->overrides.root.has_value());
    EXPECT_FALSE(cl->overrides.workers.has_value());
    EXPECT_FALSE(cl->check_config);
    EXPECT_FALSE(cl->show_version);
    EXPECT_FALSE(cl->show_help);
}

TEST(CommandLine, ConfigPathSpellings) {
    for (auto args : std::vector<std::vector<const char*>>{{"-c", "/etc/minid/minid.conf"},
                                                           {"-c/etc/minid/minid.conf"},
                                                           {"--config", "/etc/minid/minid.conf"},
                                                           {"--config=/etc/minid/minid.conf"}}) {
        auto cl = parse(args);
        ASSERT_TRUE(cl.ok()) << cl.error();
        EXPECT_EQ(cl->config_path, "/etc/minid/minid.conf") << args[0];
    }
}

TEST(CommandLine, OverridesAndFlags) {
    auto cl = parse({"--listen", "127.0.0.1:0", "--listen=[::1]:8080", "--root", "site",
                     "--workers", "3", "-t", "--version", "-h", "--config", "minid.conf"});
    ASSERT_TRUE(cl.ok()) << cl.error();
    const std::vector<ListenAddress> want{addr("127.0.0.1:0"), addr("[::1]:8080")};
    EXPECT_EQ(cl->overrides.listen, want);
    EXPECT_EQ(cl->overrides.root, "site");
    EXPECT_EQ(cl->overrides.workers, 3u);
    EXPECT_TRUE(cl->check_config);
    EXPECT_TRUE(cl->show_version);
    EXPECT_TRUE(cl->show_help);
    EXPECT_EQ(cl->config_path, "minid.conf");
}

TEST(CommandLine, ListenTlsRepeatsAndIsSeparateFromListen) {
    auto cl = parse({"--listen-tls", "127.0.0.1:8443", "--listen-tls=[::1]:8443", "--listen",
                     "127.0.0.1:8080"});
    ASSERT_TRUE(cl.ok()) << cl.error();
    const std::vector<ListenAddress> want{addr("127.0.0.1:8443"), addr("[::1]:8443")};
    EXPECT_EQ(cl->overrides.listen_tls, want);
    EXPECT_EQ(cl->overrides.listen, std::vector<ListenAddress>{addr("127.0.0.1:8080")});
    auto twice = parse({"--listen-tls", "443", "--listen-tls", "*:443"});
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error(), "--listen-tls 0.0.0.0:443 is given twice");
}

TEST(CommandLine, LongFlagsAndWorkersAuto) {
    auto cl = parse({"--check-config", "--workers=auto", "-V", "--help"});
    ASSERT_TRUE(cl.ok()) << cl.error();
    EXPECT_TRUE(cl->check_config);
    EXPECT_EQ(cl->overrides.workers, 0u);
    EXPECT_TRUE(cl->show_version);
    EXPECT_TRUE(cl->show_help);
}

TEST(CommandLine, RootMayBeRelativeOrLookOdd) {
    auto cl = parse({"--root=-weird"});
    ASSERT_TRUE(cl.ok()) << cl.error();
    EXPECT_EQ(cl->overrides.root, "-weird");
    auto dash = parse({"--root", "-"});
    ASSERT_TRUE(dash.ok()) << dash.error();
    EXPECT_EQ(dash->overrides.root, "-");
}

TEST(CommandLine, ParsingTwiceGivesTheSameResult) {
    // No hidden state (getopt's optind would make the second call see nothing).
    auto a = parse({"-c", "x.conf", "--workers", "2"});
    auto b = parse({"-c", "x.conf", "--workers", "2"});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->config_path, b->config_path);
    EXPECT_EQ(a->overrides.workers, b->overrides.workers);
}

struct BadArgs {
    std::vector<const char*> args;
    const char* error;
};

class CommandLineBad : public ::testing::TestWithParam<BadArgs> {};

TEST_P(CommandLineBad, ExplainsWhatToDo) {
    auto cl = parse(GetParam().args);
    ASSERT_FALSE(cl.ok());
    EXPECT_EQ(cl.error(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, CommandLineBad,
    ::testing::Values(
        BadArgs{{"--frobnicate"}, "unknown option '--frobnicate'"},
        BadArgs{{"--lisen", "80"}, "unknown option '--lisen' (did you mean --listen?)"},
        BadArgs{{"--worker=2"}, "unknown option '--worker' (did you mean --workers?)"},
        BadArgs{{"-x"}, "unknown option '-x'"}, BadArgs{{"-tV"}, "unknown option '-tV'"},
        BadArgs{{"serve"},
                "unexpected argument 'serve': minid takes only options; use -c FILE to name a "
                "config file"},
        BadArgs{{"-"},
                "unexpected argument '-': minid takes only options; use -c FILE to name a config "
                "file"},
        BadArgs{{"-c"}, "option -c needs a value: -c FILE"},
        BadArgs{{"--config"}, "option --config needs a value: --config FILE"},
        BadArgs{{"--config="}, "option -c/--config needs a file name"},
        BadArgs{{"-c", "a.conf", "--config", "b.conf"}, "option -c/--config is given twice"},
        BadArgs{{"--root", "--workers", "2"}, "option --root needs a value: --root DIR"},
        BadArgs{{"--root="}, "option --root needs a directory"},
        BadArgs{{"--root", "a", "--root", "b"}, "option --root is given twice"},
        BadArgs{{"--listen"}, "option --listen needs a value: --listen ADDR"},
        BadArgs{{"--listen", "x:99999"},
                "--listen: invalid listen address 'x:99999': port out of range"},
        BadArgs{{"--listen="}, "--listen: invalid listen address '': empty address"},
        BadArgs{{"--listen", "80", "--listen", "*:80"}, "--listen 0.0.0.0:80 is given twice"},
        BadArgs{{"--workers", "0"},
                "invalid --workers '0': expected 'auto' or a number from 1 to 256"},
        BadArgs{{"--workers=lots"},
                "invalid --workers 'lots': expected 'auto' or a number from 1 to 256"},
        BadArgs{{"--workers", "2", "--workers", "3"}, "option --workers is given twice"},
        BadArgs{{"--help=yes"}, "option --help takes no value"},
        BadArgs{{"--check-config=1"}, "option --check-config takes no value"}));

TEST(Usage, MentionsEveryOption) {
    const std::string u = usage_text();
    for (const char* opt :
         {"-c, --config FILE", "--listen ADDR", "--listen-tls ADDR", "--root DIR",
          "--workers N|auto", "-t, --check-config", "-V, --version", "-h, --help"})
        EXPECT_NE(u.find(opt), std::string::npos) << opt;
    // Every line fits an 80-column terminal.
    size_t start = 0;
    while (start < u.size()) {
        size_t end = u.find('\n', start);
        if (end == std::string::npos) end = u.size();
        EXPECT_LE(end - start, 79u) << u.substr(start, end - start);
        start = end + 1;
    }
}

}  // namespace
}  // namespace minid
