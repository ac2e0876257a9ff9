// Tests for minid.conf parsing (good files, every error with origin:line), the serialize()
// round trip, load_config() with overrides and validation, and the shipped Debian conffile.
#include "common/config.hpp"

#include "common/config_values.hpp"
#include "common/usable_cpus.hpp"
#include "tests/unit/common/config_fixture.hpp"
#include "tests/unit/common/one_cpu_child.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace minid {
namespace {

namespace fs = std::filesystem;
using testing::expect_round_trip;
using testing::TempDir;
using namespace std::chrono_literals;

std::string data_path(const std::string& name) {
    return std::string(MINID_TEST_DATA) + "/config/" + name;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

ListenAddress addr(std::string_view text) {
    return ListenAddress::parse(text).value();
}

// Restores the working directory when a test that chdir()s ends.
class CwdGuard {
  public:
    CwdGuard() : saved_(fs::current_path()) {}
    ~CwdGuard() { fs::current_path(saved_); }

  private:
    fs::path saved_;
};

// ---- good files ----

TEST(ParseConfig, EmptyTextGivesTheDefaults) {
    auto c = parse_config_text("", "empty.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(*c, Config{});
    ASSERT_EQ(c->listen.size(), 1u);
    EXPECT_EQ(c->listen[0].to_string(), "127.0.0.1:8080");
}

TEST(ParseConfig, FullFileSetsEveryKey) {
    auto c = parse_config_text(read_text(data_path("full.conf")), "full.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    const std::vector<ListenAddress> listen{addr("127.0.0.1:8081"), addr("[::1]:8082"),
                                            addr("unix:/run/minid-test/http.sock")};
    EXPECT_EQ(c->listen, listen);
    EXPECT_EQ(c->workers, 3u);
    EXPECT_EQ(c->graceful_timeout, 120s);
    EXPECT_EQ(c->hang_timeout, 30s);
    EXPECT_EQ(c->defer_accept, 0ms);
    EXPECT_FALSE(c->delayed_ack);
    EXPECT_EQ(c->busy_poll, 200us);
    EXPECT_EQ(c->max_draining_generations, 8u);
    EXPECT_EQ(c->control_socket, "/run/minid-test/control.sock");
    EXPECT_EQ(c->control_socket_mode, 0660u);
    EXPECT_EQ(c->control_socket_group, "www-data");
    EXPECT_EQ(c->log_level, log::Level::debug);
    EXPECT_EQ(c->access_log, "/var/log/minid/access.log");
    EXPECT_EQ(c->root, "/srv/www");
    EXPECT_EQ(c->index, "home.html");
    EXPECT_EQ(c->keepalive_timeout, 500ms);
    EXPECT_EQ(c->header_timeout, 5s);
    EXPECT_EQ(c->send_timeout, 1h);
    EXPECT_EQ(c->min_send_rate, 4096u);
    EXPECT_EQ(c->max_header_size, 16u * 1024);
    EXPECT_EQ(c->max_body_size, 2u * 1024 * 1024);
    EXPECT_EQ(c->max_connections, 512u);
    EXPECT_EQ(c->server_name, "minid/0.1");
    EXPECT_EQ(c->source_file, "");

    // Every field differs from its default, so a key the parser ignored would show up here.
    const Config d;
    EXPECT_NE(c->listen, d.listen);
    EXPECT_NE(c->workers, d.workers);
    EXPECT_NE(c->graceful_timeout, d.graceful_timeout);
    EXPECT_NE(c->hang_timeout, d.hang_timeout);
    EXPECT_NE(c->defer_accept, d.defer_accept);
    EXPECT_NE(c->delayed_ack, d.delayed_ack);
    EXPECT_NE(c->busy_poll, d.busy_poll);
    EXPECT_NE(c->max_draining_generations, d.max_draining_generations);
    EXPECT_NE(c->control_socket, d.control_socket);
    EXPECT_NE(c->control_socket_mode, d.control_socket_mode);
    EXPECT_NE(c->control_socket_group, d.control_socket_group);
    EXPECT_NE(c->log_level, d.log_level);
    EXPECT_NE(c->access_log, d.access_log);
    EXPECT_NE(c->root, d.root);
    EXPECT_NE(c->index, d.index);
    EXPECT_NE(c->keepalive_timeout, d.keepalive_timeout);
    EXPECT_NE(c->header_timeout, d.header_timeout);
    EXPECT_NE(c->send_timeout, d.send_timeout);
    EXPECT_NE(c->min_send_rate, d.min_send_rate);
    EXPECT_NE(c->max_header_size, d.max_header_size);
    EXPECT_NE(c->max_body_size, d.max_body_size);
    EXPECT_NE(c->max_connections, d.max_connections);
    EXPECT_NE(c->server_name, d.server_name);
}

TEST(ParseConfig, ListenInTheFileReplacesTheDefault) {
    auto c = parse_config_text("[server]\nlisten = 10.0.0.1:80\n", "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->listen, std::vector<ListenAddress>{addr("10.0.0.1:80")});
}

TEST(ParseConfig, ListenAccumulatesAcrossLinesAndWithinALine) {
    auto c = parse_config_text("[server]\nlisten = 80\nlisten = [::]:80 unix:/run/a.sock\t81\n",
                               "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    const std::vector<ListenAddress> want{addr("0.0.0.0:80"), addr("[::]:80"),
                                          addr("unix:/run/a.sock"), addr("0.0.0.0:81")};
    EXPECT_EQ(c->listen, want);
}

TEST(ParseConfig, CrlfLineEndings) {
    auto c = parse_config_text(read_text(data_path("crlf.conf")), "crlf.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->workers, 2u);
    EXPECT_EQ(c->listen, std::vector<ListenAddress>{addr("127.0.0.1:9000")});
    EXPECT_EQ(c->index, "crlf.html");
}

TEST(ParseConfig, Utf8ByteOrderMarkIsSkipped) {
    auto c = parse_config_text(read_text(data_path("bom.conf")), "bom.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->workers, 5u);
}

TEST(ParseConfig, CommentsAndWhereTheyStart) {
    // ';' or '#' after a space starts a comment; glued to the value it is part of it.
    auto c = parse_config_text(
        "; full-line comment\n# another\n[http]\nindex = a;b.html\nserver_name = x#y ; c\n"
        "root = /srv/a b   # trailing comment\n",
        "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->index, "a;b.html");
    EXPECT_EQ(c->server_name, "x#y");
    EXPECT_EQ(c->root, "/srv/a b");
}

TEST(ParseConfig, IndentedLinesAreNotContinuations) {
    // inih would glue an indented line to the previous value; minid.conf has no continuations.
    auto c = parse_config_text("[server]\nworkers = 2\n    log_level = debug\n", "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->workers, 2u);
    EXPECT_EQ(c->log_level, log::Level::debug);
    auto bad = parse_config_text("[server]\nworkers = 2\n    3\n", "t.conf");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), "t.conf:3: expected 'key = value', '[section]' or a comment");
}

TEST(ParseConfig, OffAndEmptyValues) {
    auto c = parse_config_text(
        "[server]\ncontrol_socket = off\ncontrol_socket_group =\naccess_log = off\n"
        "[http]\nserver_name = off\n",
        "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->control_socket, "");
    EXPECT_FALSE(c->control_socket_enabled());
    EXPECT_EQ(c->control_socket_group, "");
    EXPECT_EQ(c->access_log, "off");
    EXPECT_EQ(c->server_name, "");
    auto empty = parse_config_text("[http]\nserver_name =\n", "t.conf");
    ASSERT_TRUE(empty.ok()) << empty.error();
    EXPECT_EQ(empty->server_name, "");
}

TEST(ParseConfig, WorkersAutoAndLogLevels) {
    auto c = parse_config_text("[server]\nworkers = auto\nlog_level = warn\n", "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->workers, 0u);
    EXPECT_EQ(c->log_level, log::Level::warn);
    for (const char* name : {"error", "warn", "notice", "info", "debug"}) {
        auto l = parse_config_text(std::string("[server]\nlog_level = ") + name + "\n", "t.conf");
        ASSERT_TRUE(l.ok()) << l.error();
        EXPECT_STREQ(log::level_name(l->log_level), name);
    }
}

TEST(ParseConfig, LongLinesUpToTheLimit) {
    const std::string root = "/" + std::string(5000, 'r');
    auto c = parse_config_text("[http]\nroot = " + root + "\nindex = after.html\n", "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->root, root);
    EXPECT_EQ(c->index, "after.html");

    auto bad =
        parse_config_text("[http]\nroot = /" + std::string(9000, 'r') + "\nworkers\n", "t.conf");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(),
              "t.conf:2: line is longer than 8192 bytes\n"
              "t.conf:3: expected 'key = value', '[section]' or a comment");
}

// ---- bad files: each message with its exact origin:line ----

TEST(ParseConfig, BadFileReportsEveryErrorWithItsLine) {
    auto c = parse_config_text(read_text(data_path("bad.conf")), "bad.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(),
              "bad.conf:2: key 'workers' is outside any section; put it under [server]\n"
              "bad.conf:4: unknown key 'lsten' in [server] (did you mean 'listen'?)\n"
              "bad.conf:5: invalid workers '0': expected 'auto' or a number from 1 to 256\n"
              "bad.conf:6: duplicate key 'workers' (already set at line 5)\n"
              "bad.conf:7: invalid listen address 'x:99999': port out of range\n"
              "bad.conf:8: invalid graceful_timeout '0': must be between 1ms and 24h\n"
              "bad.conf:9: expected 'key = value', '[section]' or a comment\n"
              "bad.conf:10: unknown section [htpp] (did you mean [http]?)\n"
              "bad.conf:13: invalid keepalive_timeout '5x': expected a duration such as 30s, "
              "500ms, 2m or 1h\n"
              "bad.conf:14: invalid max_header_size '100': must be between 1k and 1m\n"
              "bad.conf:15: invalid root 'relative/path': must be an absolute path\n"
              "bad.conf:16: invalid server_name '\"minid\"': only HTTP token characters and '/' "
              "are allowed (no spaces or quotes); use off to omit the Server header\n"
              "bad.conf:17: section header is missing ']'\n"
              "bad.conf:21: duplicate key 'index' (already set at line 20)");
}

struct BadCase {
    const char* text;
    const char* error;
};

class ParseConfigBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseConfigBad, FailsWithOriginLineAndReason) {
    auto c = parse_config_text(GetParam().text, "/etc/minid/minid.conf");
    ASSERT_FALSE(c.ok()) << GetParam().text;
    EXPECT_EQ(c.error(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseConfigBad,
    ::testing::Values(
        BadCase{"[server]\nworkers = 257\n",
                "/etc/minid/minid.conf:2: invalid workers '257': expected 'auto' or a number "
                "from 1 to 256"},
        BadCase{"[server]\n\nworkers = many\n",
                "/etc/minid/minid.conf:3: invalid workers 'many': expected 'auto' or a number "
                "from 1 to 256"},
        BadCase{"[server]\nWorkers = 2\n",
                "/etc/minid/minid.conf:2: unknown key 'Workers' in [server] (did you mean "
                "'workers'?)"},
        BadCase{"[server]\nroot = /srv\n",
                "/etc/minid/minid.conf:2: unknown key 'root' in [server] (did you mean 'root' "
                "in [http]?)"},
        BadCase{"[http]\nfrobnicate = 1\n",
                "/etc/minid/minid.conf:2: unknown key 'frobnicate' in [http]"},
        BadCase{"[http]\nkeepalive = 5s\n",
                "/etc/minid/minid.conf:2: unknown key 'keepalive' in [http]"},
        BadCase{"[Server]\nworkers = 2\n",
                "/etc/minid/minid.conf:1: unknown section [Server] (did you mean [server]?)"},
        BadCase{"[tls]\ncert = /x\n", "/etc/minid/minid.conf:1: unknown section [tls]"},
        BadCase{"[]\nworkers = 2\n", "/etc/minid/minid.conf:1: unknown section []"},
        BadCase{"[server] extra\n", "/etc/minid/minid.conf:1: unexpected text after '[server]'"},
        BadCase{"index = x.html\n",
                "/etc/minid/minid.conf:1: key 'index' is outside any section; put it under "
                "[http]"},
        BadCase{"foo = 1\n", "/etc/minid/minid.conf:1: key 'foo' is outside any section"},
        BadCase{"[server]\n= 3\n", "/etc/minid/minid.conf:2: missing key name before '='"},
        BadCase{"[server]\nlisten 127.0.0.1:80\n",
                "/etc/minid/minid.conf:2: key 'listen 127.0.0.1' contains a space; expected "
                "'key = value'"},
        BadCase{"[server]\nlisten = 127.0.0.1:80 127.0.0.1:80\n",
                "/etc/minid/minid.conf:2: duplicate listen address 127.0.0.1:80"},
        BadCase{"[server]\nlisten = 80\nlisten = *:80\n",
                "/etc/minid/minid.conf:3: duplicate listen address 0.0.0.0:80"},
        BadCase{"[server]\nlisten =\n",
                "/etc/minid/minid.conf:2: invalid listen '': give one or more addresses, e.g. "
                "127.0.0.1:8080"},
        BadCase{"[server]\nlisten = example.org:80\n",
                "/etc/minid/minid.conf:2: invalid listen address 'example.org:80': host must be "
                "a numeric IPv4 address, [IPv6], '*' or 'localhost' (no DNS lookups)"},
        BadCase{"[server]\nmax_draining_generations = 65\n",
                "/etc/minid/minid.conf:2: invalid max_draining_generations '65': must be "
                "between 1 and 64"},
        BadCase{"[server]\nmax_draining_generations = 0\n",
                "/etc/minid/minid.conf:2: invalid max_draining_generations '0': must be "
                "between 1 and 64"},
        BadCase{"[server]\ncontrol_socket = control.sock\n",
                "/etc/minid/minid.conf:2: invalid control_socket 'control.sock': expected an "
                "absolute path or off"},
        BadCase{"[server]\ncontrol_socket_mode = 0980\n",
                "/etc/minid/minid.conf:2: invalid control_socket_mode '0980': expected octal "
                "permission bits such as 0660"},
        BadCase{"[server]\ncontrol_socket_mode = 4755\n",
                "/etc/minid/minid.conf:2: invalid control_socket_mode '4755': only permission "
                "bits (at most 0777) are allowed"},
        BadCase{"[server]\ncontrol_socket_group = www data\n",
                "/etc/minid/minid.conf:2: invalid control_socket_group 'www data': expected a "
                "group name or a numeric group id"},
        BadCase{"[server]\nlog_level = verbose\n",
                "/etc/minid/minid.conf:2: invalid log_level 'verbose': expected error, warn, "
                "notice, info or debug"},
        BadCase{"[server]\naccess_log = access.log\n",
                "/etc/minid/minid.conf:2: invalid access_log 'access.log': expected stdout, off "
                "or an absolute file path"},
        BadCase{"[server]\naccess_log =\n",
                "/etc/minid/minid.conf:2: invalid access_log '': a value is required"},
        BadCase{"[http]\nroot =\n",
                "/etc/minid/minid.conf:2: invalid root '': a value is required"},
        BadCase{"[http]\nindex = sub/index.html\n",
                "/etc/minid/minid.conf:2: invalid index 'sub/index.html': must be a file name "
                "such as index.html (no '/')"},
        BadCase{"[http]\nindex = ..\n",
                "/etc/minid/minid.conf:2: invalid index '..': must be a file name such as "
                "index.html (no '/')"},
        BadCase{"[http]\nheader_timeout = 25h\n",
                "/etc/minid/minid.conf:2: invalid header_timeout '25h': must be between 1ms and "
                "24h"},
        BadCase{"[http]\nsend_timeout = -1\n",
                "/etc/minid/minid.conf:2: invalid send_timeout '-1': expected a duration such as "
                "30s, 500ms, 2m or 1h"},
        BadCase{"[http]\nmax_header_size = 2m\n",
                "/etc/minid/minid.conf:2: invalid max_header_size '2m': must be between 1k and "
                "1m"},
        BadCase{"[http]\nmax_body_size = 2t\n",
                "/etc/minid/minid.conf:2: invalid max_body_size '2t': expected a size such as "
                "8192, 8k, 1m or 1g"},
        BadCase{"[http]\nmax_body_size = 2000g\n",
                "/etc/minid/minid.conf:2: invalid max_body_size '2000g': must be between 0 and "
                "1024g"},
        BadCase{"[http]\nmax_connections = 0\n",
                "/etc/minid/minid.conf:2: invalid max_connections '0': must be between 1 and "
                "1000000"},
        BadCase{"[http]\nmax_connections = 1e6\n",
                "/etc/minid/minid.conf:2: invalid max_connections '1e6': expected a whole "
                "number"},
        BadCase{"[http]\nserver_name = minid 1.0\n",
                "/etc/minid/minid.conf:2: invalid server_name 'minid 1.0': only HTTP token "
                "characters and '/' are allowed (no spaces or quotes); use off to omit the Server "
                "header"},
        BadCase{"[http]\nroot = /srv/a\tb\n",
                "/etc/minid/minid.conf:2: invalid root '/srv/a\tb': control characters (tab, "
                "newline...) are not allowed"},
        BadCase{"[http]\nindex = a.html\n[http]\nindex = b.html\n",
                "/etc/minid/minid.conf:4: duplicate key 'index' (already set at line 2)"},
        BadCase{"[server]\nworkers = 2\nworkers = 2\nworkers = 3\n",
                "/etc/minid/minid.conf:3: duplicate key 'workers' (already set at line 2)\n"
                "/etc/minid/minid.conf:4: duplicate key 'workers' (already set at line 2)"}));

TEST(ParseConfig, NulByteInTheMiddleOfTheText) {
    // string literals above stop at \0; build the text explicitly.
    const std::string text("[http]\nindex = a\0b\nworkers = 1\n", 31);
    auto c = parse_config_text(text, "t.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(),
              "t.conf:2: line contains a NUL byte\n"
              "t.conf:3: unknown key 'workers' in [http] (did you mean 'workers' in [server]?)");
}

// ---- serialize round trip ----

TEST(SerializeConfig, DefaultsRoundTrip) {
    expect_round_trip(Config{});
    const std::string text = Config{}.serialize();
    EXPECT_EQ(text.find("[server]\nlisten = 127.0.0.1:8080\nworkers = auto\n"), 0u) << text;
    EXPECT_NE(text.find("\ncontrol_socket = /run/minid/control.sock\n"), std::string::npos);
    EXPECT_EQ(text.find("root"), std::string::npos) << "unset root is left out";
    EXPECT_EQ(text.find("[meta]"), std::string::npos) << "no source file, no [meta]";
}

TEST(SerializeConfig, FullFileRoundTrips) {
    auto c = parse_config_text(read_text(data_path("full.conf")), "full.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    c->source_file = "/etc/minid/minid.conf";
    expect_round_trip(*c);
    EXPECT_NE(c->serialize().find("\n[meta]\nsource_file = /etc/minid/minid.conf\n"),
              std::string::npos);
}

TEST(SerializeConfig, OffValuesAndOddButValidStringsRoundTrip) {
    Config c;
    c.control_socket = "";
    c.server_name = "";
    c.control_socket_group = "";
    c.access_log = "off";
    c.root = "/srv/my site;v2#x";
    c.index = "index;1.html";
    c.source_file = "/etc/minid/a b.conf";
    c.workers = kMaxWorkers;
    c.graceful_timeout = 1500ms;
    c.defer_accept = 2500ms;
    c.busy_poll = 1500us;
    c.keepalive_timeout = 90s;
    c.max_body_size = 0;
    c.max_header_size = 1500;
    c.log_level = log::Level::notice;
    c.listen = {addr("[::]:0"), addr("unix:/tmp/x.sock")};
    expect_round_trip(c);
}

TEST(SerializeConfig, EveryKeyAppearsOnceForAFullConfig) {
    auto c = parse_config_text(read_text(data_path("full.conf")), "full.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    const std::string text = c->serialize();
    for (const char* key : {"workers",
                            "defer_accept",
                            "delayed_ack",
                            "busy_poll",
                            "graceful_timeout",
                            "hang_timeout",
                            "max_draining_generations",
                            "control_socket",
                            "control_socket_mode",
                            "control_socket_group",
                            "log_level",
                            "access_log",
                            "root",
                            "index",
                            "keepalive_timeout",
                            "header_timeout",
                            "send_timeout",
                            "min_send_rate",
                            "max_header_size",
                            "max_body_size",
                            "max_connections",
                            "server_name"}) {
        const std::string line = std::string("\n") + key + " = ";
        const size_t at = text.find(line);
        EXPECT_NE(at, std::string::npos) << key << " missing in\n" << text;
        EXPECT_EQ(text.find(line, at + 1), std::string::npos) << key << " twice";
    }
}

// ---- validate_config ----

TEST(ValidateConfig, AcceptsDefaultsWithAnExistingRoot) {
    TempDir dir;
    Config c;
    c.root = dir.path();
    EXPECT_TRUE(validate_config(c).ok());
}

TEST(ValidateConfig, ReportsEveryProblemOnItsOwnLine) {
    Config c;
    c.listen = {addr("127.0.0.1:80"), addr("[::1]:80"), addr("127.0.0.1:80")};
    c.workers = 300;
    c.graceful_timeout = 0ms;
    c.access_log = "logs/access.log";
    c.control_socket = "minid.sock";
    c.max_header_size = 512;
    c.max_connections = 0;
    c.control_socket_mode = 01777;
    c.server_name = "a b";
    c.root = "/nonexistent-minid-root";
    auto s = validate_config(c);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error(),
              "duplicate listen address 127.0.0.1:80\n"
              "invalid workers '300': expected 'auto' or a number from 1 to 256\n"
              "invalid graceful_timeout '0ms': must be between 1ms and 24h\n"
              "invalid control_socket 'minid.sock': expected an absolute path or off\n"
              "invalid control_socket_mode '1777': only permission bits (at most 0777) are "
              "allowed\n"
              "invalid access_log 'logs/access.log': expected stdout, off or an absolute file "
              "path\n"
              "invalid max_header_size '512': must be between 1k and 1m\n"
              "invalid max_connections '0': must be between 1 and 1000000\n"
              "invalid server_name 'a b': only HTTP token characters and '/' are allowed (no "
              "spaces or quotes); use off to omit the Server header\n"
              "root /nonexistent-minid-root: No such file or directory");
}

TEST(ValidateConfig, ListenMustNotBeEmpty) {
    TempDir dir;
    Config c;
    c.root = dir.path();
    c.listen.clear();
    auto s = validate_config(c);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error(),
              "no listen address: set listen or listen_tls in [server], or use --listen");
}

TEST(ValidateConfig, RootMustBeASetAbsoluteDirectory) {
    TempDir dir;
    Config c;
    auto unset = validate_config(c);
    ASSERT_FALSE(unset.ok());
    EXPECT_EQ(unset.error(), "root is not set: set root in [http] or use --root");

    c.root = dir.write("file.txt", "x");
    auto file = validate_config(c);
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.error(), "root " + c.root + ": Not a directory");

    c.root = "relative";
    auto rel = validate_config(c);
    ASSERT_FALSE(rel.ok());
    EXPECT_EQ(rel.error(), "invalid root 'relative': must be an absolute path");
}

TEST(ValidateConfig, RejectsStringsThatWouldNotSurviveSerialize) {
    TempDir dir;
    Config c;
    c.root = dir.path() + " ;x";
    auto s = validate_config(c);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().rfind("invalid root '" + c.root +
                                  "': a space followed by ';' or '#' starts a comment in "
                                  "minid.conf",
                              0),
              0u)
        << s.error();
    c.root = dir.path();
    c.index = " index.html";
    auto lead = validate_config(c);
    ASSERT_FALSE(lead.ok());
    EXPECT_EQ(lead.error(),
              "invalid index ' index.html': leading or trailing spaces are not allowed");
}

// ---- load_config: files, overrides, defaults ----

TEST(LoadConfig, EmptyPathGivesDefaultsWithTheBuiltInRoot) {
    auto c = load_config("", {});
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->root, default_root());
    EXPECT_EQ(c->source_file, "");
    Config want;
    want.root = default_root();
    EXPECT_EQ(*c, want);
}

TEST(LoadConfig, MissingFileNamesPathAndReason) {
    auto c = load_config("/nonexistent-minid-dir/minid.conf", {});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(),
              "cannot read /nonexistent-minid-dir/minid.conf: No such file or directory");
}

TEST(LoadConfig, DirectoryIsNotAConfigFile) {
    TempDir dir;
    auto c = load_config(dir.path(), {});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(), "cannot read " + dir.path() + ": Is a directory");
}

TEST(LoadConfig, ParseErrorsCarryThePathAsOrigin) {
    TempDir dir;
    const std::string path = dir.write("minid.conf", "[server]\nlsten = 80\n");
    auto c = load_config(path, {});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(), path + ":2: unknown key 'lsten' in [server] (did you mean 'listen'?)");
}

TEST(LoadConfig, ReadsTheFileAndRecordsItsAbsolutePath) {
    TempDir dir;
    const std::string path = dir.write(
        "minid.conf",
        "[server]\nworkers = 2\nlisten = 127.0.0.1:0\n[http]\nroot = " + dir.path() + "\n");
    CwdGuard cwd;
    fs::current_path(dir.path());
    auto c = load_config("minid.conf", {});
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->source_file, path);
    EXPECT_EQ(c->root, dir.path());
    EXPECT_EQ(c->workers, 2u);
    EXPECT_EQ(c->listen, std::vector<ListenAddress>{addr("127.0.0.1:0")});
}

TEST(LoadConfig, OverridesReplaceTheFile) {
    TempDir dir;
    fs::create_directory(dir.path() + "/other");
    const std::string path = dir.write(
        "minid.conf", "[server]\nworkers = 2\nlisten = 127.0.0.1:81 127.0.0.1:82\n[http]\nroot = " +
                          dir.path() + "\n");
    ConfigOverrides o;
    o.listen = {addr("[::1]:0")};
    o.root = dir.path() + "/other";
    o.workers = 0;
    auto c = load_config(path, o);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->listen, o.listen);
    EXPECT_EQ(c->root, dir.path() + "/other");
    EXPECT_EQ(c->workers, 0u);

    ConfigOverrides none;
    auto file_only = load_config(path, none);
    ASSERT_TRUE(file_only.ok()) << file_only.error();
    EXPECT_EQ(file_only->listen.size(), 2u);
    EXPECT_EQ(file_only->workers, 2u);
}

TEST(LoadConfig, RelativeRootOverrideIsMadeAbsoluteAgainstTheCwd) {
    TempDir dir;
    fs::create_directory(dir.path() + "/site");
    CwdGuard cwd;
    fs::current_path(dir.path());
    const std::string cwd_now = fs::current_path().string();
    for (const char* given : {"site", "./site"}) {
        ConfigOverrides o;
        o.root = given;
        auto c = load_config("", o);
        ASSERT_TRUE(c.ok()) << c.error();
        EXPECT_EQ(c->root, cwd_now + "/site") << given;
    }
    ConfigOverrides dot;
    dot.root = ".";
    auto c = load_config("", dot);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->root, cwd_now);
}

TEST(LoadConfig, ValidationErrorsAfterOverrides) {
    ConfigOverrides o;
    o.root = "/nonexistent-minid-root";
    auto c = load_config("", o);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error(), "root /nonexistent-minid-root: No such file or directory");
}

TEST(LoadConfig, LoadedConfigRoundTripsThroughSerialize) {
    TempDir dir;
    std::string text = read_text(data_path("full.conf"));
    const std::string path = dir.write("full.conf", text);
    ConfigOverrides o;
    o.root = dir.path();
    auto c = load_config(path, o);
    ASSERT_TRUE(c.ok()) << c.error();
    expect_round_trip(*c);
}

TEST(EffectiveWorkers, AutoMeansTheCpusThisProcessMayUseAndAtLeastOne) {
    Config c;
    c.workers = 0;
    EXPECT_EQ(c.effective_workers(), usable_cpu_count());
    EXPECT_GE(c.effective_workers(), 1u);
    // As under `taskset -c N minid`: one worker, however many CPUs the host has.
    EXPECT_EQ(in_one_cpu_child([&] { return static_cast<int>(c.effective_workers()); }), 1);
    c.workers = 7;
    EXPECT_EQ(c.effective_workers(), 7u);
}

// ---- the shipped Debian conffile ----

TEST(PackagedConfig, ParsesCleanlyWithTheDocumentedValues) {
    const std::string path = std::string(MINID_TEST_DATA) + "/../../packaging/minid.conf";
    const std::string text = read_text(path);
    ASSERT_FALSE(text.empty()) << path;
    auto c = parse_config_text(text, path);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->root, "/usr/share/minid/site");
    EXPECT_EQ(c->control_socket, "/run/minid/control.sock");
    EXPECT_EQ(c->access_log, "stdout");
    EXPECT_EQ(c->listen, Config{}.listen) << "listen comes from minid.socket under systemd";

    TempDir dir;
    ConfigOverrides o;
    o.root = dir.path();
    auto loaded = load_config(path, o);
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    expect_round_trip(*loaded);
}

}  // namespace
}  // namespace minid

namespace minid {
namespace {

TEST(ParseConfig, DeferAcceptTakesZeroForOffAndIsBounded) {
    auto off = parse_config_text("[server]\ndefer_accept = 0\n", "t.conf");
    ASSERT_TRUE(off.ok()) << off.error();
    EXPECT_EQ(off->defer_accept, 0ms);
    auto two = parse_config_text("[server]\ndefer_accept = 2s\n", "t.conf");
    ASSERT_TRUE(two.ok()) << two.error();
    EXPECT_EQ(two->defer_accept, 2s);
    EXPECT_EQ(Config{}.defer_accept, 1s);
    auto big = parse_config_text("[server]\ndefer_accept = 1h\n", "t.conf");
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error(), "t.conf:2: invalid defer_accept '1h': must be between 0ms and 10m");
}

TEST(ParseConfig, DelayedAckIsASwitchThatDefaultsToOn) {
    EXPECT_TRUE(Config{}.delayed_ack);
    EXPECT_NE(Config{}.serialize().find("\ndelayed_ack = on\n"), std::string::npos);
    auto off = parse_config_text("[server]\ndelayed_ack = off\n", "t.conf");
    ASSERT_TRUE(off.ok()) << off.error();
    EXPECT_FALSE(off->delayed_ack);
    EXPECT_NE(off->serialize().find("\ndelayed_ack = off\n"), std::string::npos);
    auto on = parse_config_text("[server]\ndelayed_ack = TRUE\n", "t.conf");
    ASSERT_TRUE(on.ok()) << on.error();
    EXPECT_TRUE(on->delayed_ack);
    auto bad = parse_config_text("[server]\ndelayed_ack = maybe\n", "t.conf");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), "t.conf:2: invalid delayed_ack 'maybe': expected 'on' or 'off'");
}

TEST(ParseConfig, BusyPollIsOffByDefaultTakesMicrosecondsAndIsBounded) {
    EXPECT_EQ(Config{}.busy_poll, 0us);
    auto on = parse_config_text("[server]\nbusy_poll = 50us\n", "t.conf");
    ASSERT_TRUE(on.ok()) << on.error();
    EXPECT_EQ(on->busy_poll, 50us);
    auto off = parse_config_text("[server]\nbusy_poll = 0\n", "t.conf");
    ASSERT_TRUE(off.ok()) << off.error();
    EXPECT_EQ(off->busy_poll, 0us);
    auto ms = parse_config_text("[server]\nbusy_poll = 2ms\n", "t.conf");
    ASSERT_TRUE(ms.ok()) << ms.error();
    EXPECT_EQ(ms->busy_poll, 2000us);
    EXPECT_NE(ms->serialize().find("\nbusy_poll = 2ms\n"), std::string::npos) << ms->serialize();
    auto big = parse_config_text("[server]\nbusy_poll = 1s\n", "t.conf");
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error(), "t.conf:2: invalid busy_poll '1s': must be between 0us and 10ms");
    auto frac = parse_config_text("[server]\nbusy_poll = 0.5ms\n", "t.conf");
    ASSERT_FALSE(frac.ok());
    EXPECT_EQ(frac.error(),
              "t.conf:2: invalid busy_poll '0.5ms': expected a duration such as 50us, 1ms or 0");
}

TEST(ParseConfig, HangTimeoutIsADurationOfAtLeastTwoSeconds) {
    EXPECT_EQ(Config{}.hang_timeout, 10s);
    auto c = parse_config_text("[server]\nhang_timeout = 1m\n", "t.conf");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->hang_timeout, 60s);
    auto small = parse_config_text("[server]\nhang_timeout = 1s\n", "t.conf");
    ASSERT_FALSE(small.ok());
    EXPECT_NE(small.error().find("t.conf:2: invalid hang_timeout '1s'"), std::string::npos)
        << small.error();
}

TEST(ParseConfig, MinSendRateIsASizeWithZeroForNone) {
    EXPECT_EQ(Config{}.min_send_rate, 512u);
    auto off = parse_config_text("[http]\nmin_send_rate = 0\n", "t.conf");
    ASSERT_TRUE(off.ok()) << off.error();
    EXPECT_EQ(off->min_send_rate, 0u);
    auto k = parse_config_text("[http]\nmin_send_rate = 2k\n", "t.conf");
    ASSERT_TRUE(k.ok()) << k.error();
    EXPECT_EQ(k->min_send_rate, 2048u);
    auto bad = parse_config_text("[http]\nmin_send_rate = fast\n", "t.conf");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().find("invalid min_send_rate 'fast'"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace minid
