// Command-line parsing for minid. Hand-written rather than getopt: getopt keeps global state
// (optind) and reorders argv, and every error here should say what to type instead.
#include "daemon/cli.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string_view>

#include "common/config_values.hpp"

namespace minid {
namespace {

enum class Opt { config, listen, listen_tls, root, workers, check_config, version, help };

struct OptionSpec {
    Opt id;
    std::string_view short_name;  // "" if none
    std::string_view long_name;
    std::string_view value_name;  // "" for flags
};

constexpr OptionSpec kOptions[] = {
    {Opt::config, "-c", "--config", "FILE"},       {Opt::listen, "", "--listen", "ADDR"},
    {Opt::listen_tls, "", "--listen-tls", "ADDR"}, {Opt::root, "", "--root", "DIR"},
    {Opt::workers, "", "--workers", "N|auto"},     {Opt::check_config, "-t", "--check-config", ""},
    {Opt::version, "-V", "--version", ""},         {Opt::help, "-h", "--help", ""},
};

std::string display_name(const OptionSpec& o) {
    if (o.short_name.empty()) return std::string(o.long_name);
    return std::string(o.short_name) + "/" + std::string(o.long_name);
}

Error fail(std::string message) {
    return make_error(std::move(message));
}

std::string unknown_option(std::string_view name) {
    std::string m = "unknown option '" + std::string(name) + "'";
    if (name.starts_with("--")) {
        for (const OptionSpec& o : kOptions) {
            if (edit_distance(name, o.long_name) <= 2)
                return m + " (did you mean " + std::string(o.long_name) + "?)";
        }
    }
    return m;
}

Status apply(CommandLine& cl, const OptionSpec& o, std::string_view value, bool* seen) {
    const bool repeated = seen[static_cast<int>(o.id)];
    seen[static_cast<int>(o.id)] = true;
    switch (o.id) {
        case Opt::config:
            if (repeated) return fail("option " + display_name(o) + " is given twice");
            if (value.empty()) return fail("option " + display_name(o) + " needs a file name");
            cl.config_path = std::string(value);
            return {};
        case Opt::listen:
        case Opt::listen_tls: {
            const std::string name(o.long_name);
            auto addr = ListenAddress::parse(value);
            if (!addr) return fail(name + ": " + addr.error());
            auto& list = o.id == Opt::listen ? cl.overrides.listen : cl.overrides.listen_tls;
            if (std::find(list.begin(), list.end(), *addr) != list.end())
                return fail(name + " " + addr->to_string() + " is given twice");
            list.push_back(*addr);
            return {};
        }
        case Opt::root:
            if (repeated) return fail("option --root is given twice");
            if (value.empty()) return fail("option --root needs a directory");
            cl.overrides.root = std::string(value);
            return {};
        case Opt::workers: {
            if (repeated) return fail("option --workers is given twice");
            auto n = parse_workers(value);
            if (!n) return fail("invalid --workers '" + std::string(value) + "': " + n.error());
            cl.overrides.workers = *n;
            return {};
        }
        case Opt::check_config:
            cl.check_config = true;
            return {};
        case Opt::version:
            cl.show_version = true;
            return {};
        case Opt::help:
            cl.show_help = true;
            return {};
    }
    return {};
}

}  // namespace

Result<CommandLine> parse_command_line(int argc, char** argv) {
    CommandLine cl;
    bool seen[std::size(kOptions)] = {};
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i] ? argv[i] : "";
        if (arg.size() < 2 || arg.front() != '-') {
            return fail("unexpected argument '" + std::string(arg) +
                        "': minid takes only options; use -c FILE to name a config file");
        }

        // "--name=value", "--name value", "-c value" or "-cvalue".
        std::string_view name = arg;
        std::optional<std::string_view> attached;
        const OptionSpec* spec = nullptr;
        if (arg.starts_with("--")) {
            if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
                name = arg.substr(0, eq);
                attached = arg.substr(eq + 1);
            }
            for (const OptionSpec& o : kOptions)
                if (o.long_name == name) spec = &o;
        } else {
            for (const OptionSpec& o : kOptions) {
                if (o.short_name.empty() || !arg.starts_with(o.short_name)) continue;
                if (arg.size() == 2) {
                    spec = &o;
                } else if (!o.value_name.empty()) {
                    spec = &o;
                    name = arg.substr(0, 2);
                    attached = arg.substr(2);
                }
            }
        }
        if (!spec) return fail(unknown_option(name));

        std::string_view value;
        if (spec->value_name.empty()) {
            if (attached) return fail("option " + std::string(name) + " takes no value");
        } else if (attached) {
            value = *attached;
        } else {
            // A following option is not taken as the value: "--root --workers 2" is a mistake.
            const bool have_next = i + 1 < argc && argv[i + 1] != nullptr;
            const std::string_view next = have_next ? argv[i + 1] : "";
            if (!have_next || (next.size() > 1 && next.front() == '-'))
                return fail("option " + std::string(name) + " needs a value: " + std::string(name) +
                            " " + std::string(spec->value_name));
            value = next;
            ++i;
        }
        if (auto ok = apply(cl, *spec, value, seen); !ok) return fail(ok.error());
    }
    return cl;
}

std::string usage_text() {
    return "Usage: minid [OPTION]...\n"
           "Serve static files over HTTP/1.1 with a master process and prefork workers.\n"
           "\n"
           "  -c, --config FILE     read settings from FILE (default: built-in settings)\n"
           "      --listen ADDR     listen on ADDR instead of the file's addresses; repeat\n"
           "                        for more: 127.0.0.1:8080, [::1]:8080, *:80, 8080,\n"
           "                        localhost:8080, unix:/run/minid/http.sock\n"
           "      --listen-tls ADDR serve HTTPS on ADDR instead of the file's listen_tls\n"
           "                        addresses; repeat for more\n"
           "      --root DIR        serve the default site from DIR (relative: to the\n"
           "                        current dir)\n"
           "      --workers N|auto  worker processes: 1 to 256, or auto (one per CPU)\n"
           "  -t, --check-config    check the configuration, print any errors, and exit\n"
           "  -V, --version         print the version and exit\n"
           "  -h, --help            print this help and exit\n"
           "\n"
           "--listen, --listen-tls, --root and --workers override the config file, also\n"
           "after a reload.\n"
           "When started by systemd socket activation, the listening sockets come from the\n"
           ".socket unit and listen addresses are not used.\n"
           "See minid.conf(5) for the config file.\n";
}

}  // namespace minid
