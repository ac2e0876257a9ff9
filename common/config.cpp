// minid.conf semantics: turns INI entries into a Config (every error with origin:line), writes
// the canonical text back, and loads a file with command-line overrides and validation.
#include "common/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "common/build_info.hpp"
#include "common/config_ini.hpp"
#include "common/config_keys.hpp"
#include "common/config_values.hpp"
#include "common/unique_fd.hpp"
#include "common/usable_cpus.hpp"

namespace minid {
namespace {

// A config file larger than this is a mistake (a log or a binary given to -c).
constexpr size_t kMaxConfigFile = 1 << 20;

struct LineError {
    int line;
    std::string message;
};

bool known_section(std::string_view name) {
    return std::find(std::begin(kConfigSections), std::end(kConfigSections), name) !=
           std::end(kConfigSections);
}

std::string suggest_section(std::string_view name) {
    for (std::string_view s : kConfigSections)
        if (edit_distance(name, s) <= 2) return " (did you mean [" + std::string(s) + "]?)";
    return "";
}

std::string unknown_key_message(std::string_view section, std::string_view key) {
    std::string m = "unknown key '" + std::string(key) + "' in [" + std::string(section) + "]";
    if (const ConfigKey* k = closest_config_key(section, key)) {
        m += " (did you mean '" + std::string(k->name) + "'";
        if (k->section != section) m += " in [" + std::string(k->section) + "]";
        m += "?)";
    }
    return m;
}

std::string outside_section_message(std::string_view key) {
    std::string m = "key '" + std::string(key) + "' is outside any section";
    for (std::string_view s : kConfigSections) {
        if (find_config_key(s, key)) {
            m += "; put it under [" + std::string(s) + "]";
            break;
        }
    }
    return m;
}

std::string join_errors(std::string_view origin, std::vector<LineError>& errors) {
    std::stable_sort(errors.begin(), errors.end(),
                     [](const LineError& a, const LineError& b) { return a.line < b.line; });
    std::string out;
    for (const LineError& e : errors) {
        if (!out.empty()) out += '\n';
        out += origin;
        out += ':';
        out += std::to_string(e.line);
        out += ": ";
        out += e.message;
    }
    return out;
}

Result<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return make_error("cannot read " + path + ": " + std::strerror(errno));
    std::string text;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return make_error("cannot read " + path + ": " + std::strerror(errno));
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxConfigFile)
            return make_error("cannot read " + path + ": larger than " +
                              std::to_string(kMaxConfigFile / 1024) + " KiB, not a config file?");
    }
    return text;
}

}  // namespace

std::string default_root() {
    return build::default_root;
}

unsigned Config::effective_workers() const {
    return workers != 0 ? workers : usable_cpu_count();
}

std::string Config::serialize() const {
    std::string out;
    std::string_view section;
    std::vector<std::string> values;
    for (const ConfigKey& k : config_keys()) {
        values.clear();
        k.write(k, *this, values);
        if (values.empty()) continue;
        if (k.section != section) {
            if (!out.empty()) out += '\n';
            out += '[';
            out += k.section;
            out += "]\n";
            section = k.section;
        }
        for (const std::string& v : values) {
            out += k.name;
            out += v.empty() ? " =" : " = ";
            out += v;
            out += '\n';
        }
    }
    return out;
}

Result<Config> parse_config_text(std::string_view text, std::string_view origin) {
    IniDocument doc = read_ini(text);
    std::vector<LineError> errors;
    for (IniError& e : doc.errors) errors.push_back({e.line, std::move(e.message)});
    for (const IniSection& s : doc.sections) {
        if (!known_section(s.name))
            errors.push_back(
                {s.line, "unknown section [" + s.name + "]" + suggest_section(s.name)});
    }

    Config config;
    bool listen_from_file = false;
    std::map<const ConfigKey*, int> first_line;
    for (const IniEntry& e : doc.entries) {
        if (!e.section) {
            errors.push_back({e.line, outside_section_message(e.key)});
            continue;
        }
        if (!known_section(*e.section)) continue;  // reported once, at its header
        const ConfigKey* key = find_config_key(*e.section, e.key);
        if (!key) {
            errors.push_back({e.line, unknown_key_message(*e.section, e.key)});
            continue;
        }
        auto [it, inserted] = first_line.emplace(key, e.line);
        if (!inserted && !key->repeatable) {
            errors.push_back({e.line, "duplicate key '" + e.key + "' (already set at line " +
                                          std::to_string(it->second) + ")"});
            continue;
        }
        if (key->name == "listen" && !listen_from_file) {
            config.listen.clear();  // the file's list replaces the default, never extends it
            listen_from_file = true;
        }
        if (auto err = key->apply(*key, config, e.value)) errors.push_back({e.line, *err});
    }
    if (!errors.empty()) return make_error(join_errors(origin, errors));
    return config;
}

Status validate_config(const Config& config) {
    std::vector<std::string> errors;
    if (config.listen.empty())
        errors.push_back("no listen address: set listen in [server] or use --listen");
    for (size_t i = 0; i < config.listen.size(); ++i) {
        const auto& a = config.listen[i];
        if (std::find(config.listen.begin(), config.listen.begin() + static_cast<long>(i), a) !=
            config.listen.begin() + static_cast<long>(i))
            errors.push_back("duplicate listen address " + a.to_string());
    }
    for (const ConfigKey& k : config_keys()) {
        if (k.check) {
            if (auto e = k.check(k, config)) errors.push_back(*e);
        }
    }
    if (config.root.empty()) {
        errors.push_back("root is not set: set root in [http] or use --root");
    } else if (config.root.front() == '/') {
        struct stat st {};
        if (::stat(config.root.c_str(), &st) != 0)
            errors.push_back("root " + config.root + ": " + std::strerror(errno));
        else if (!S_ISDIR(st.st_mode))
            errors.push_back("root " + config.root + ": " + std::strerror(ENOTDIR));
    }
    if (errors.empty()) return {};
    std::string out;
    for (const std::string& e : errors) {
        if (!out.empty()) out += '\n';
        out += e;
    }
    return make_error(std::move(out));
}

Result<Config> load_config(const std::string& path, const ConfigOverrides& overrides) {
    Config config;
    if (!path.empty()) {
        auto text = read_file(path);
        if (!text) return make_error(text.error());
        auto parsed = parse_config_text(*text, path);
        if (!parsed) return make_error(parsed.error());
        config = std::move(*parsed);
        auto abs = make_absolute(path);
        if (!abs) return make_error(abs.error());
        config.source_file = std::move(*abs);
    }
    if (!overrides.listen.empty()) config.listen = overrides.listen;
    if (overrides.workers) config.workers = *overrides.workers;
    if (overrides.root) {
        auto abs = make_absolute(*overrides.root);
        if (!abs) return make_error(abs.error());
        config.root = std::move(*abs);
    }
    if (config.root.empty()) config.root = default_root();
    if (auto ok = validate_config(config); !ok) return make_error(ok.error());
    return config;
}

}  // namespace minid
