// minidctl option parsing (no getopt: its global state and permutation rules are not needed).
#include "ctl/ctl_options.hpp"

#include <charconv>
#include <cmath>
#include <string_view>
#include <vector>

#include "common/build_info.hpp"

namespace minid::ctl {
namespace {

using namespace std::chrono_literals;

Failure usage_error(const std::string& message) {
    return {kExitUsage, message + " (see minidctl --help)"};
}

// "--name=value" or "--name value"; `i` moves past a separate value.
std::optional<std::string> take_value(const std::vector<std::string_view>& args, size_t& i,
                                      std::string_view name, bool& missing) {
    std::string_view a = args[i];
    missing = false;
    if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=')
        return std::string(a.substr(name.size() + 1));
    if (a != name) return std::nullopt;
    if (i + 1 >= args.size()) {
        missing = true;
        return std::nullopt;
    }
    return std::string(args[++i]);
}

}  // namespace

std::chrono::milliseconds CtlOptions::effective_timeout() const {
    if (timeout) return *timeout;
    if (command == control::Command::reload || command == control::Command::stop) return 120s;
    return 10s;
}

Expected<CtlOptions> parse_ctl_options(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    CtlOptions o;
    std::vector<std::string> positional;
    bool saw_json = false, saw_fast = false, saw_no_wait = false;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        bool missing = false;
        if (a == "-h" || a == "--help") {
            o.show_help = true;
        } else if (a == "-V" || a == "--version") {
            o.show_version = true;
        } else if (a == "--json") {
            saw_json = true;
        } else if (a == "--fast") {
            saw_fast = true;
        } else if (a == "--no-wait") {
            saw_no_wait = true;
        } else if (auto v = take_value(args, i, "--control", missing); v || missing) {
            if (missing || v->empty()) return usage_error("option --control needs a socket path");
            o.control_path = *v;
        } else if (auto c = take_value(args, i, "--config", missing); c || missing) {
            if (missing || c->empty()) return usage_error("option --config needs a file");
            o.config_path = *c;
        } else if (a == "-c" || (a.size() > 2 && a.substr(0, 2) == "-c")) {
            if (a.size() > 2) {
                o.config_path = std::string(a.substr(2));
            } else {
                if (i + 1 >= args.size()) return usage_error("option -c needs a config file");
                o.config_path = std::string(args[++i]);
            }
        } else if (auto t = take_value(args, i, "--timeout", missing); t || missing) {
            double seconds = 0;
            const char* end = nullptr;
            if (!missing) {
                auto r = std::from_chars(t->data(), t->data() + t->size(), seconds);
                end = r.ptr;
                if (r.ec != std::errc{}) end = nullptr;
            }
            if (missing || end != t->data() + t->size() || !(seconds > 0) || seconds > 86400)
                return usage_error(
                    "option --timeout needs seconds between 0 and 86400, e.g. --timeout 30");
            o.timeout =
                std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
        } else if (a.size() > 1 && a[0] == '-') {
            return usage_error("unknown option " + std::string(a));
        } else {
            positional.emplace_back(a);
        }
    }
    if (o.show_help || o.show_version) return o;
    if (o.control_path && o.config_path)
        return usage_error("give either --control PATH or -c CONFIG, not both");
    if (positional.empty()) return usage_error("no command given");
    auto cmd = control::parse_command_name(positional[0]);
    if (!cmd) return usage_error("unknown command '" + positional[0] + "'");
    o.command = *cmd;
    const size_t want_args = o.command == control::Command::workers ? 2 : 1;
    if (positional.size() < want_args)
        return usage_error("workers needs a count: minidctl workers N");
    if (positional.size() > want_args)
        return usage_error("unexpected argument '" + positional[want_args] + "' after " +
                           positional[0]);
    if (o.command == control::Command::workers) {
        const std::string& n = positional[1];
        unsigned count = 0;
        auto r = std::from_chars(n.data(), n.data() + n.size(), count);
        if (r.ec != std::errc{} || r.ptr != n.data() + n.size() || count < 1)
            return usage_error("workers needs a positive count, not '" + n + "'");
        o.workers = count;
    }
    if (saw_json && o.command != control::Command::status)
        return usage_error("--json goes with status only");
    if ((saw_fast || saw_no_wait) && o.command != control::Command::stop)
        return usage_error(std::string(saw_fast ? "--fast" : "--no-wait") + " goes with stop only");
    o.json = saw_json;
    o.fast = saw_fast;
    o.no_wait = saw_no_wait;
    return o;
}

std::string ctl_usage() {
    return "Usage: minidctl [--control PATH | -c CONFIG] [--timeout SECONDS] COMMAND\n"
           "\n"
           "Talks to a running minid over its control socket.\n"
           "\n"
           "Commands:\n"
           "  status [--json]        master and per-worker state, counters and rates\n"
           "  reload                 re-read the config; waits until the new generation serves\n"
           "                         (exit 1 and the error if the config is broken)\n"
           "  stop [--fast] [--no-wait]\n"
           "                         graceful (or fast) stop; waits until minid has exited\n"
           "  reopen                 reopen log files (after logrotate)\n"
           "  workers N              run N workers (until the next reload)\n"
           "  metrics                Prometheus text exposition\n"
           "\n"
           "Options:\n"
           "  --control PATH         the control socket (default: " +
           std::string(build::default_control_socket) +
           ")\n"
           "  -c, --config CONFIG    take the control socket from minid's config file\n"
           "  --timeout SECONDS      give up after this long (default 10, reload/stop 120)\n"
           "  -h, --help             this help\n"
           "  -V, --version          minidctl's version\n"
           "\n"
           "Exit codes: 0 ok, 1 command failed, 2 usage, 3 minid not running,\n"
           "4 permission denied, 5 protocol error, 6 timeout. See minidctl(8).\n";
}

}  // namespace minid::ctl
