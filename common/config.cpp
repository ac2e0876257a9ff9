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
#include <span>
#include <utility>

#include "common/build_info.hpp"
#include "common/config_ini.hpp"
#include "common/config_keys.hpp"
#include "common/config_sites.hpp"
#include "common/config_upstreams.hpp"
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

std::string suggest_section(const std::vector<std::string_view>& words) {
    if (words.empty()) return "";
    if (words.size() == 1) {
        for (std::string_view s : kConfigSections)
            if (edit_distance(words[0], s) <= 2) return " (did you mean [" + std::string(s) + "]?)";
    }
    if (words.size() <= 2 && edit_distance(words[0], kSiteSection) <= 2)
        return " (did you mean [site " + std::string(words.size() == 2 ? words[1] : "NAME") + "]?)";
    return "";
}

// What a section header stands for; entries of an ignored section were reported at its header.
struct SectionRole {
    enum class Kind { ignored, fixed, site, upstream } kind = Kind::ignored;
    size_t site = 0;  // Kind::site: index into Config::sites; Kind::upstream: Config::upstreams
};

// Where each site's parts were written, for file:line in site_problems() messages.
struct SiteLines {
    int header = 0;
    int default_key = 0;
    bool root_seen = false;   // a bad root value was reported already: no "has no root"
    bool hosts_seen = false;  // likewise for hosts
    std::vector<int> hosts;   // line of each entry of SiteSettings::hosts
    std::map<const SiteKey*, int> first_line;
    std::vector<int> proxy;  // line of each entry of SiteSettings::proxy
    int proxy_fallback = 0;
};

// Where an upstream and its keys were written.
struct UpstreamLines {
    int header = 0;
    std::map<const UpstreamKey*, int> first_line;
};

// The lines of what a parse found, for messages about problems that span sections.
struct FileLines {
    std::vector<SiteLines> sites;
    std::vector<UpstreamLines> upstreams;
    std::vector<int> http_proxy;  // line of each entry of Config::proxy
    int http_proxy_fallback = 0;
};

// A "[KIND NAME]" header: a new named section and the record of its lines.
template <typename Settings, typename Lines>
SectionRole add_named_section(const IniSection& s, const std::vector<std::string_view>& words,
                              SectionRole::Kind kind, const char* article,
                              std::vector<Settings>& all, std::vector<Lines>& lines,
                              std::vector<LineError>& errors) {
    if (words.size() != 2) {
        const std::string k(words[0]);
        errors.push_back(
            {s.line, std::string(article) + " " + k + " section takes one name: [" + k + " NAME]"});
        return {};
    }
    Settings settings;
    settings.name = std::string(words[1]);
    all.push_back(std::move(settings));
    lines.emplace_back();
    lines.back().header = s.line;
    return {kind, all.size() - 1};
}

SectionRole classify_section(const IniSection& s, Config& config, FileLines& lines,
                             std::vector<LineError>& errors) {
    const std::vector<std::string_view> words = split_words(s.name);
    if (words.size() == 1 && known_section(words[0])) return {SectionRole::Kind::fixed};
    if (!words.empty() && words[0] == kSiteSection)
        return add_named_section(s, words, SectionRole::Kind::site, "a", config.sites, lines.sites,
                                 errors);
    if (!words.empty() && words[0] == kUpstreamSection)
        return add_named_section(s, words, SectionRole::Kind::upstream, "an", config.upstreams,
                                 lines.upstreams, errors);
    errors.push_back({s.line, "unknown section [" + s.name + "]" + suggest_section(words)});
    return {};
}

// False (reported) when a key that may be set once is set again.
template <typename Key>
bool first_setting(const IniEntry& e, const Key* key, std::map<const Key*, int>& first_line,
                   std::vector<LineError>& errors) {
    auto [it, inserted] = first_line.emplace(key, e.line);
    if (inserted || key->repeatable) return true;
    errors.push_back({e.line, "duplicate key '" + e.key + "' (already set at line " +
                                  std::to_string(it->second) + ")"});
    return false;
}

std::string site_key_message(const SiteSettings& site, std::string_view key) {
    const std::string where = "[site " + site.name + "]";
    for (std::string_view section : kConfigSections) {
        if (find_config_key(section, key))
            return "key '" + std::string(key) + "' cannot be set in " + where +
                   ": it applies to the whole server; set it in [" + std::string(section) + "]";
    }
    std::string m = "unknown key '" + std::string(key) + "' in " + where;
    if (const SiteKey* k = closest_site_key(key))
        m += " (did you mean '" + std::string(k->name) + "'?)";
    return m;
}

void apply_site_entry(const IniEntry& e, SiteSettings& site, SiteLines& lines,
                      std::vector<LineError>& errors) {
    const SiteKey* key = find_site_key(e.key);
    if (!key) {
        errors.push_back({e.line, site_key_message(site, e.key)});
        return;
    }
    if (!first_setting(e, key, lines.first_line, errors)) return;
    if (key->name == "root") lines.root_seen = true;
    if (key->name == "hosts") lines.hosts_seen = true;
    if (key->name == "default") lines.default_key = e.line;
    if (key->name == "proxy_fallback") lines.proxy_fallback = e.line;
    if (auto err = key->apply(*key, site, e.value)) errors.push_back({e.line, *err});
    lines.hosts.resize(site.hosts.size(), e.line);
    lines.proxy.resize(site.proxy.size(), e.line);
}

void apply_upstream_entry(const IniEntry& e, UpstreamSettings& upstream, UpstreamLines& lines,
                          std::vector<LineError>& errors) {
    const UpstreamKey* key = find_upstream_key(e.key);
    if (!key) {
        std::string m = "unknown key '" + e.key + "' in [upstream " + upstream.name + "]";
        if (const UpstreamKey* k = closest_upstream_key(e.key))
            m += " (did you mean '" + std::string(k->name) + "'?)";
        errors.push_back({e.line, std::move(m)});
        return;
    }
    if (!first_setting(e, key, lines.first_line, errors)) return;
    if (auto err = key->apply(*key, upstream, e.value)) errors.push_back({e.line, *err});
}

// upstream_problems() with the line each one shows on.
void report_upstream_problems(const Config& config, const FileLines& lines,
                              std::vector<LineError>& errors) {
    for (UpstreamProblem& p : upstream_problems(config)) {
        int line = 0;
        if (p.kind != UpstreamProblem::Kind::unknown) {
            line = lines.upstreams[p.index].header;
        } else if (p.site < 0) {
            line = p.route == UpstreamProblem::kFallback ? lines.http_proxy_fallback
                                                         : lines.http_proxy[p.route];
        } else {
            const SiteLines& at = lines.sites[static_cast<size_t>(p.site)];
            line = p.route == UpstreamProblem::kFallback ? at.proxy_fallback : at.proxy[p.route];
        }
        errors.push_back({line, std::move(p.message)});
    }
}

// A site's index and server_name not set in its section are [http]'s.
void inherit_from_http(Config& config, const std::vector<SiteLines>& lines) {
    const SiteKey* index = find_site_key("index");
    const SiteKey* server_name = find_site_key("server_name");
    for (size_t i = 0; i < config.sites.size(); ++i) {
        if (!lines[i].first_line.count(index)) config.sites[i].index = config.index;
        if (!lines[i].first_line.count(server_name))
            config.sites[i].server_name = config.server_name;
    }
}

// site_problems() with the line each one shows on; problems that follow from a value error
// already reported are left out.
void report_site_problems(const Config& config, const std::vector<SiteLines>& lines,
                          int http_root_line, std::vector<LineError>& errors) {
    using Kind = SiteProblem::Kind;
    for (SiteProblem& p : site_problems(config)) {
        const SiteLines& at = lines[p.site];
        int line = at.header;
        int other_line = 0;
        const SiteLines* other = p.other >= 0 ? &lines[static_cast<size_t>(p.other)] : nullptr;
        switch (p.kind) {
            case Kind::no_root:
                if (at.root_seen) continue;
                break;
            case Kind::unreachable:
                if (at.hosts_seen) continue;
                break;
            case Kind::duplicate_name:
                other_line = other->header;
                break;
            case Kind::second_default:
                line = at.default_key;
                other_line = other->default_key;
                break;
            case Kind::host_twice:
                line = at.hosts[p.host];
                break;
            case Kind::host_taken:
                line = at.hosts[p.host];
                other_line = other->hosts[p.other_host];
                break;
            case Kind::http_root_unused:
                line = http_root_line;
                p.message += " (default = on at line " + std::to_string(at.default_key) + ")";
                break;
            case Kind::bad_name:
                break;
        }
        if (other_line > 0) p.message += " at line " + std::to_string(other_line);
        errors.push_back({line, std::move(p.message)});
    }
}

template <typename Owner>
void append_section(std::string& out, std::string_view header,
                    std::span<const BasicConfigKey<Owner>> keys, std::string_view section,
                    const Owner& owner, bool even_if_empty) {
    bool started = false;
    auto start = [&] {
        if (started) return;
        if (!out.empty()) out += '\n';
        out += '[';
        out += header;
        out += "]\n";
        started = true;
    };
    if (even_if_empty) start();
    std::vector<std::string> values;
    for (const BasicConfigKey<Owner>& k : keys) {
        if (k.section != section) continue;
        values.clear();
        k.write(k, owner, values);
        if (values.empty()) continue;
        start();
        for (const std::string& v : values) {
            out += k.name;
            out += v.empty() ? " =" : " = ";
            out += v;
            out += '\n';
        }
    }
}

std::optional<std::string> root_problem(const std::string& root) {
    if (root.empty() || root.front() != '/') return std::nullopt;  // the key check reports it
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) return "root " + root + ": " + std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return "root " + root + ": " + std::strerror(ENOTDIR);
    return std::nullopt;
}

std::string unknown_key_message(std::string_view section, std::string_view key) {
    std::string m = "unknown key '" + std::string(key) + "' in [" + std::string(section) + "]";
    const ConfigKey* k = closest_config_key(section, key);
    if (k && (k->name == key || !find_site_key(key))) {
        m += " (did you mean '" + std::string(k->name) + "'";
        if (k->section != section) m += " in [" + std::string(k->section) + "]";
        m += "?)";
    } else if (find_site_key(key)) {
        m += " (it belongs in a [site NAME] section)";
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

const SiteSettings* Config::default_site() const {
    for (const SiteSettings& s : sites)
        if (s.is_default) return &s;
    return nullptr;
}

const UpstreamSettings* Config::find_upstream(std::string_view name) const {
    for (const UpstreamSettings& u : upstreams)
        if (u.name == name) return &u;
    return nullptr;
}

SiteSettings* Config::default_site() {
    return const_cast<SiteSettings*>(std::as_const(*this).default_site());
}

std::string Config::serialize() const {
    std::string out;
    for (std::string_view section : kConfigSections) {
        append_section(out, section, config_keys(), section, *this, false);
        if (section != "http") continue;
        for (const SiteSettings& site : sites)
            append_section(out, std::string(kSiteSection) + " " + site.name, site_keys(),
                           kSiteSection, site, true);
        for (const UpstreamSettings& u : upstreams)
            append_section(out, std::string(kUpstreamSection) + " " + u.name, upstream_keys(),
                           kUpstreamSection, u, true);
    }
    return out;
}

Result<Config> parse_config_text(std::string_view text, std::string_view origin) {
    IniDocument doc = read_ini(text);
    std::vector<LineError> errors;
    for (IniError& e : doc.errors) errors.push_back({e.line, std::move(e.message)});
    Config config;
    FileLines lines;
    std::vector<SiteLines>& site_lines = lines.sites;
    std::vector<SectionRole> roles;
    for (const IniSection& s : doc.sections)
        roles.push_back(classify_section(s, config, lines, errors));

    bool listen_from_file = false;
    std::map<const ConfigKey*, int> first_line;
    for (const IniEntry& e : doc.entries) {
        if (!e.section) {
            errors.push_back({e.line, outside_section_message(e.key)});
            continue;
        }
        const SectionRole& role = roles[e.section_index];
        if (role.kind == SectionRole::Kind::ignored) continue;  // reported once, at its header
        if (role.kind == SectionRole::Kind::site) {
            apply_site_entry(e, config.sites[role.site], site_lines[role.site], errors);
            continue;
        }
        if (role.kind == SectionRole::Kind::upstream) {
            apply_upstream_entry(e, config.upstreams[role.site], lines.upstreams[role.site],
                                 errors);
            continue;
        }
        const ConfigKey* key = find_config_key(*e.section, e.key);
        if (!key) {
            errors.push_back({e.line, unknown_key_message(*e.section, e.key)});
            continue;
        }
        if (!first_setting(e, key, first_line, errors)) continue;
        if (key->name == "listen" && !listen_from_file) {
            config.listen.clear();  // the file's list replaces the default, never extends it
            listen_from_file = true;
        }
        if (key->name == "proxy_fallback") lines.http_proxy_fallback = e.line;
        if (auto err = key->apply(*key, config, e.value)) errors.push_back({e.line, *err});
        lines.http_proxy.resize(config.proxy.size(), e.line);
    }
    inherit_from_http(config, site_lines);
    const auto http_root = first_line.find(find_config_key("http", "root"));
    report_site_problems(config, site_lines, http_root == first_line.end() ? 0 : http_root->second,
                         errors);
    report_upstream_problems(config, lines, errors);
    if (!errors.empty()) return make_error(join_errors(origin, errors));
    return config;
}

namespace {

// The HTTPS rules: certificates and keys pair up, TLS listeners have a certificate to show.
void tls_problems(const Config& config, std::vector<std::string>& errors) {
    auto pairs = [&](const std::string& where, const std::vector<std::string>& certs,
                     const std::vector<std::string>& keys) {
        if (certs.size() == keys.size()) return;
        errors.push_back(where + "tls_certificate and tls_key pair up in order: " +
                         std::to_string(certs.size()) + " certificate(s) but " +
                         std::to_string(keys.size()) + " key(s)");
    };
    pairs("[http] ", config.tls_certificate, config.tls_key);
    for (const SiteSettings& s : config.sites)
        pairs("[site " + s.name + "] ", s.tls_certificate, s.tls_key);
    if (const SiteSettings* d = config.default_site(); d && !config.tls_certificate.empty())
        errors.push_back("tls_certificate in [http] is not used: [site " + d->name +
                         "] is the default site; set it there");
    if (!config.listen_tls.empty() && config.default_tls_certificate().empty())
        errors.push_back(
            "listen_tls needs a certificate for the default site (the one clients without SNI "
            "or with an unknown name get): set tls_certificate and tls_key in [http] or in the "
            "default [site]");
}

}  // namespace

Status validate_config(const Config& config) {
    std::vector<std::string> errors;
    if (config.listen.empty() && config.listen_tls.empty())
        errors.push_back(
            "no listen address: set listen or listen_tls in [server], or use --listen");
    std::vector<ListenAddress> seen;
    auto check_list = [&](const std::vector<ListenAddress>& list, const char* what) {
        for (const ListenAddress& a : list) {
            if (std::find(seen.begin(), seen.end(), a) != seen.end())
                errors.push_back(std::string("duplicate ") + what + " address " + a.to_string());
            seen.push_back(a);
        }
    };
    check_list(config.listen, "listen");
    check_list(config.listen_tls, "listen_tls");
    tls_problems(config, errors);
    for (const ConfigKey& k : config_keys()) {
        if (k.check) {
            if (auto e = k.check(k, config)) errors.push_back(*e);
        }
    }
    if (!config.default_site()) {
        if (config.root.empty())
            errors.push_back("root is not set: set root in [http] or use --root");
        else if (auto e = root_problem(config.root))
            errors.push_back(*e);
    }
    for (const SiteSettings& site : config.sites) {
        const std::string where = "[site " + site.name + "] ";
        for (const SiteKey& k : site_keys()) {
            if (k.check) {
                if (auto e = k.check(k, site)) errors.push_back(where + *e);
            }
        }
        if (auto e = root_problem(site.root)) errors.push_back(where + *e);
    }
    for (const SiteProblem& p : site_problems(config)) errors.push_back(p.message);
    for (const UpstreamSettings& u : config.upstreams) {
        for (const UpstreamKey& k : upstream_keys()) {
            if (k.check) {
                if (auto e = k.check(k, u)) errors.push_back("[upstream " + u.name + "] " + *e);
            }
        }
    }
    for (const UpstreamProblem& p : upstream_problems(config)) errors.push_back(p.message);
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
    if (!overrides.listen_tls.empty()) config.listen_tls = overrides.listen_tls;
    if (overrides.workers) config.workers = *overrides.workers;
    if (overrides.root) {
        auto abs = make_absolute(*overrides.root);
        if (!abs) return make_error(abs.error());
        if (SiteSettings* site = config.default_site())
            site->root = std::move(*abs);
        else
            config.root = std::move(*abs);
    }
    if (config.root.empty() && !config.default_site()) config.root = default_root();
    if (auto ok = validate_config(config); !ok) return make_error(ok.error());
    return config;
}

}  // namespace minid
