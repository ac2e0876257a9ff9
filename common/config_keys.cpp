// The minid.conf key table and the per-kind parse/check/write functions behind it.
#include "common/config_keys.hpp"

#include <sys/un.h>

#include <algorithm>
#include <cctype>

#include "common/cidr.hpp"
#include "common/config_values.hpp"
#include "common/host_pattern.hpp"

namespace minid {
namespace {

using Values = std::vector<std::string>;
using Opt = std::optional<std::string>;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// --- listen, listen_tls: repeatable, several whitespace-separated addresses per line ---

template <std::vector<ListenAddress> Config::*M>
Opt apply_listen(const ConfigKey& k, Config& c, std::string_view value) {
    const auto words = split_words(value);
    if (words.empty())
        return invalid_value(k.name, value, "give one or more addresses, e.g. 127.0.0.1:8080");
    std::vector<ListenAddress>& list = c.*M;
    for (std::string_view word : words) {
        auto addr = ListenAddress::parse(word);
        if (!addr) return addr.error();
        if (std::find(list.begin(), list.end(), *addr) != list.end())
            return "duplicate " + std::string(k.name) + " address " + addr->to_string();
        list.push_back(*addr);
    }
    return std::nullopt;
}

template <std::vector<ListenAddress> Config::*M>
void write_listen(const ConfigKey&, const Config& c, Values& out) {
    for (const ListenAddress& a : c.*M) out.push_back(a.to_string());
}

// --- workers: "auto" or 1..kMaxWorkers ---

Opt apply_workers(const ConfigKey& k, Config& c, std::string_view value) {
    auto n = parse_workers(value);
    if (!n) return invalid_value(k.name, value, n.error());
    c.workers = *n;
    return std::nullopt;
}

Opt check_workers(const ConfigKey& k, const Config& c) {
    if (c.workers <= kMaxWorkers) return std::nullopt;
    return invalid_value(k.name, std::to_string(c.workers), parse_workers("").error());
}

void write_workers(const ConfigKey&, const Config& c, Values& out) {
    out.push_back(format_workers(c.workers));
}

// --- site hosts: repeatable, several whitespace-separated patterns per line ---

Opt apply_hosts(const SiteKey& k, SiteSettings& s, std::string_view value) {
    const auto words = split_words(value);
    if (words.empty())
        return invalid_value(k.name, value, "give one or more host names, e.g. example.com");
    for (std::string_view word : words) {
        auto pattern = parse_host_pattern(word);
        if (!pattern) return invalid_value("host", word, pattern.error());
        s.hosts.push_back(std::move(*pattern));
    }
    return std::nullopt;
}

Opt check_hosts(const SiteKey&, const SiteSettings& s) {
    for (const std::string& h : s.hosts) {
        if (auto why = host_pattern_problem(h)) return invalid_value("host", h, *why);
        if (auto why = unrepresentable_reason(h)) return invalid_value("host", h, *why);
    }
    return std::nullopt;
}

// All patterns on one line.
void write_hosts(const SiteKey&, const SiteSettings& s, Values& out) {
    if (s.hosts.empty()) return;
    std::string line;
    for (const std::string& h : s.hosts) {
        if (!line.empty()) line += ' ';
        line += h;
    }
    out.push_back(std::move(line));
}

// --- upstream server: repeatable, one address per line ---

Opt apply_server(const UpstreamKey& k, UpstreamSettings& u, std::string_view value) {
    auto addr = ListenAddress::parse(value);
    if (!addr) return invalid_value(k.name, value, addr.error());
    if (addr->kind != ListenAddress::Kind::unix_path &&
        (addr->port == 0 || addr->host == "0.0.0.0" || addr->host == "::"))
        return invalid_value(k.name, value,
                             "expected unix:/path, HOST:PORT, [V6]:PORT or localhost:PORT with a "
                             "port and a host to connect to");
    if (std::find(u.servers.begin(), u.servers.end(), *addr) != u.servers.end())
        return "duplicate server " + addr->to_string();
    u.servers.push_back(*addr);
    return std::nullopt;
}

void write_servers(const UpstreamKey&, const UpstreamSettings& u, Values& out) {
    for (const ListenAddress& a : u.servers) out.push_back(a.to_string());
}

// --- the member a key template stores into, and the table its key belongs to ---

template <typename>
struct MemberOf;
template <typename C, typename F>
struct MemberOf<F C::*> {
    using Owner = C;
    using Field = F;
};

template <auto M>
using OwnerOf = typename MemberOf<decltype(M)>::Owner;
template <auto M>
using FieldOf = std::remove_cvref_t<typename MemberOf<decltype(M)>::Field>;
template <auto M>
using KeyOf = BasicConfigKey<OwnerOf<M>>;

// --- numbers with a range: durations (ms), sizes (bytes), plain counts ---

template <typename T>
constexpr bool is_duration = std::is_same_v<T, milliseconds> || std::is_same_v<T, microseconds>;

template <typename T>
const char* unit_of() {
    return std::is_same_v<T, milliseconds> ? "ms" : "us";
}

template <typename T>
uint64_t as_u64(const T& v) {
    if constexpr (is_duration<T>)
        return v.count() < 0 ? 0 : static_cast<uint64_t>(v.count());
    else
        return static_cast<uint64_t>(v);
}

template <typename T>
T from_u64(uint64_t v) {
    if constexpr (is_duration<T>)
        return T(static_cast<typename T::rep>(v));
    else
        return static_cast<T>(v);
}

enum class NumberKind { duration, micro_duration, size, count };

template <NumberKind Kind>
std::string format_number(uint64_t v) {
    if constexpr (Kind == NumberKind::duration)
        return format_duration(milliseconds(static_cast<milliseconds::rep>(v)));
    else if constexpr (Kind == NumberKind::micro_duration)
        return format_micro_duration(microseconds(static_cast<microseconds::rep>(v)));
    else if constexpr (Kind == NumberKind::size)
        return format_size(v);
    else
        return std::to_string(v);
}

template <NumberKind Kind>
Result<uint64_t> parse_number(std::string_view text) {
    if constexpr (Kind == NumberKind::duration) {
        auto d = parse_duration(text);
        if (!d) return make_error(d.error());
        return static_cast<uint64_t>(d->count());
    } else if constexpr (Kind == NumberKind::micro_duration) {
        auto d = parse_micro_duration(text);
        if (!d) return make_error(d.error());
        return static_cast<uint64_t>(d->count());
    } else if constexpr (Kind == NumberKind::size) {
        return parse_size(text);
    } else {
        return parse_count(text);
    }
}

template <NumberKind Kind, typename Key>
Opt range_error(const Key& k, std::string_view shown, uint64_t v, bool negative) {
    if (!negative && v >= k.min && v <= k.max) return std::nullopt;
    return invalid_value(
        k.name, shown,
        "must be between " + format_number<Kind>(k.min) + " and " + format_number<Kind>(k.max));
}

template <auto M, NumberKind Kind>
Opt apply_number(const KeyOf<M>& k, OwnerOf<M>& c, std::string_view value) {
    auto n = parse_number<Kind>(value);
    if (!n) return invalid_value(k.name, value, n.error());
    if (auto e = range_error<Kind>(k, value, *n, false)) return e;
    c.*M = from_u64<FieldOf<M>>(*n);
    return std::nullopt;
}

template <auto M, NumberKind Kind>
Opt check_number(const KeyOf<M>& k, const OwnerOf<M>& c) {
    const auto& field = c.*M;
    const uint64_t v = as_u64(field);
    if constexpr (is_duration<FieldOf<M>>) {
        if (field.count() < 0)
            return range_error<Kind>(k, std::to_string(field.count()) + unit_of<FieldOf<M>>(), v,
                                     true);
    }
    return range_error<Kind>(k, format_number<Kind>(v), v, false);
}

template <auto M, NumberKind Kind>
void write_number(const KeyOf<M>&, const OwnerOf<M>& c, Values& out) {
    out.push_back(format_number<Kind>(as_u64(c.*M)));
}

template <auto M, NumberKind Kind>
constexpr KeyOf<M> number_key(std::string_view section, std::string_view name, uint64_t min,
                              uint64_t max) {
    return KeyOf<M>{section,
                    name,
                    false,
                    min,
                    max,
                    &apply_number<M, Kind>,
                    &check_number<M, Kind>,
                    &write_number<M, Kind>};
}

constexpr uint64_t ms(uint64_t seconds) {
    return seconds * 1000;
}
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

// --- control_socket_mode: octal permission bits ---

Opt apply_mode(const ConfigKey& k, Config& c, std::string_view value) {
    auto m = parse_file_mode(value);
    if (!m) return invalid_value(k.name, value, m.error());
    c.control_socket_mode = *m;
    return std::nullopt;
}

Opt check_mode(const ConfigKey& k, const Config& c) {
    if (c.control_socket_mode <= 0777) return std::nullopt;
    return invalid_value(k.name, format_file_mode(c.control_socket_mode),
                         "only permission bits (at most 0777) are allowed");
}

void write_mode(const ConfigKey&, const Config& c, Values& out) {
    out.push_back(format_file_mode(c.control_socket_mode));
}

// --- log_level ---

Opt apply_level(const ConfigKey& k, Config& c, std::string_view value) {
    if (log::parse_level(value, &c.log_level)) return std::nullopt;
    return invalid_value(k.name, value, "expected error, warn, notice, info or debug");
}

Opt check_level(const ConfigKey& k, const Config& c) {
    if (std::string_view(log::level_name(c.log_level)) != "?") return std::nullopt;
    return invalid_value(k.name, std::to_string(static_cast<int>(c.log_level)),
                         "expected error, warn, notice, info or debug");
}

void write_level(const ConfigKey&, const Config& c, Values& out) {
    out.push_back(log::level_name(c.log_level));
}

// --- strings ---

// What an empty value (or "off") means for a string key.
enum class Empty {
    required,  // empty is an error in a file; an empty field (unset) is not written
    off,       // "off" and "" both store ""; "" is written as "off"
    allowed,   // "" is a real value and written as an empty value
};

using StringRule = Opt (*)(std::string_view value);  // reason, or nullopt if fine

bool is_absolute(std::string_view s) {
    return !s.empty() && s.front() == '/';
}

Opt rule_absolute(std::string_view v) {
    if (is_absolute(v)) return std::nullopt;
    return "must be an absolute path";
}

Opt rule_index(std::string_view v) {
    if (v.empty() || v == "." || v == ".." || v.find('/') != std::string_view::npos)
        return "must be a file name such as index.html (no '/')";
    return std::nullopt;
}

Opt rule_access_log(std::string_view v) {
    if (v == "stdout" || v == "off" || is_absolute(v)) return std::nullopt;
    return "expected stdout, off or an absolute file path";
}

Opt rule_control_socket(std::string_view v) {
    constexpr size_t kMax = sizeof(sockaddr_un::sun_path) - 1;
    if (!is_absolute(v)) return "expected an absolute path or off";
    if (v.size() > kMax)
        return "is longer than " + std::to_string(kMax) +
               " bytes (the limit of a unix socket path)";
    return std::nullopt;
}

Opt rule_group(std::string_view v) {
    const bool ok =
        v.size() <= 256 && v.front() != '-' && std::all_of(v.begin(), v.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' ||
                   ch == '.';
        });
    if (ok) return std::nullopt;
    return "expected a group name or a numeric group id";
}

Opt rule_server_name(std::string_view v) {
    if (v.size() <= 256 && is_server_name(v)) return std::nullopt;
    return "only HTTP token characters and '/' are allowed (no spaces or quotes); use off to "
           "omit the Server header";
}

Opt rule_any(std::string_view) {
    return std::nullopt;
}

Opt rule_tls_protocols(std::string_view v) {
    return tls_protocols_problem(v);
}

// Only what OpenSSL cipher strings are made of; whether OpenSSL knows the names is checked
// when the master builds the TLS context.
Opt rule_cipher_list(std::string_view v) {
    const bool ok = std::all_of(v.begin(), v.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '+' ||
               ch == ':' || ch == '!' || ch == '@' || ch == '=' || ch == '_' || ch == '.' ||
               ch == ',';
    });
    if (ok) return std::nullopt;
    return "expected an OpenSSL cipher list such as ECDHE-ECDSA-AES128-GCM-SHA256:...";
}

template <auto M, Empty E, StringRule Rule>
Opt check_string_value(const KeyOf<M>& k, std::string_view v) {
    if (v.empty()) {
        if constexpr (E == Empty::required) return invalid_value(k.name, v, "a value is required");
        return std::nullopt;
    }
    if (auto why = unrepresentable_reason(v)) return invalid_value(k.name, v, *why);
    if (auto why = Rule(v)) return invalid_value(k.name, v, *why);
    return std::nullopt;
}

template <auto M, Empty E, StringRule Rule>
Opt apply_string(const KeyOf<M>& k, OwnerOf<M>& c, std::string_view value) {
    if (E == Empty::off && value == "off") value = {};
    if (auto e = check_string_value<M, E, Rule>(k, value)) return e;
    c.*M = std::string(value);
    return std::nullopt;
}

template <auto M, Empty E, StringRule Rule>
Opt check_string(const KeyOf<M>& k, const OwnerOf<M>& c) {
    const std::string& v = c.*M;
    if (E == Empty::off && v == "off") return std::nullopt;
    if (E == Empty::required && v.empty()) {
        // Unset is the caller's business (root gets a default); a set value must be valid.
        return std::nullopt;
    }
    return check_string_value<M, E, Rule>(k, v);
}

template <auto M, Empty E, StringRule Rule>
void write_string(const KeyOf<M>&, const OwnerOf<M>& c, Values& out) {
    const std::string& v = c.*M;
    if (!v.empty()) {
        out.push_back(v);
    } else if constexpr (E == Empty::off) {
        out.push_back("off");
    } else if constexpr (E == Empty::allowed) {
        out.push_back("");
    }
}

template <auto M, Empty E, StringRule Rule>
constexpr KeyOf<M> string_key(std::string_view section, std::string_view name) {
    return KeyOf<M>{section,
                    name,
                    false,
                    0,
                    0,
                    &apply_string<M, E, Rule>,
                    &check_string<M, E, Rule>,
                    &write_string<M, E, Rule>};
}

// --- lists of absolute paths, one per line (tls_certificate, tls_key) ---

template <auto M>
Opt apply_path_list(const KeyOf<M>& k, OwnerOf<M>& c, std::string_view value) {
    if (value.empty()) return invalid_value(k.name, value, "a value is required");
    if (auto why = unrepresentable_reason(value)) return invalid_value(k.name, value, *why);
    if (auto why = rule_absolute(value)) return invalid_value(k.name, value, *why);
    (c.*M).emplace_back(value);
    return std::nullopt;
}

template <auto M>
Opt check_path_list(const KeyOf<M>& k, const OwnerOf<M>& c) {
    for (const std::string& v : c.*M) {
        if (auto why = unrepresentable_reason(v)) return invalid_value(k.name, v, *why);
        if (auto why = rule_absolute(v)) return invalid_value(k.name, v, *why);
    }
    return std::nullopt;
}

template <auto M>
void write_path_list(const KeyOf<M>&, const OwnerOf<M>& c, Values& out) {
    for (const std::string& v : c.*M) out.push_back(v);
}

template <auto M>
constexpr KeyOf<M> path_list_key(std::string_view section, std::string_view name) {
    return KeyOf<M>{
        section, name, true, 0, 0, &apply_path_list<M>, &check_path_list<M>, &write_path_list<M>};
}

// --- switches: on/off ---

template <auto M>
Opt apply_switch(const KeyOf<M>& k, OwnerOf<M>& c, std::string_view value) {
    auto on = parse_switch(value);
    if (!on) return invalid_value(k.name, value, on.error());
    c.*M = *on;
    return std::nullopt;
}

template <auto M>
void write_switch(const KeyOf<M>&, const OwnerOf<M>& c, Values& out) {
    out.push_back(format_switch(c.*M));
}

template <auto M>
constexpr KeyOf<M> switch_key(std::string_view section, std::string_view name) {
    return KeyOf<M>{section, name, false, 0, 0, &apply_switch<M>, nullptr, &write_switch<M>};
}

// HTTPS switches and durations are written only when set, so a config without HTTPS
// serializes as it did before HTTPS existed.
template <auto M>
void write_switch_if_on(const KeyOf<M>&, const OwnerOf<M>& c, Values& out) {
    if (c.*M) out.push_back(format_switch(true));
}

template <auto M>
constexpr KeyOf<M> https_switch_key(std::string_view section, std::string_view name) {
    return KeyOf<M>{section, name, false, 0, 0, &apply_switch<M>, nullptr, &write_switch_if_on<M>};
}

template <auto M>
void write_duration_if_set(const KeyOf<M>&, const OwnerOf<M>& c, Values& out) {
    if ((c.*M).count() > 0) out.push_back(format_duration(c.*M));
}

template <auto M>
constexpr KeyOf<M> hsts_key(std::string_view section) {
    return KeyOf<M>{section,
                    "hsts",
                    false,
                    0,
                    2 * 365 * 86'400ull * 1000,  // two years (the preload list asks for one)
                    &apply_number<M, NumberKind::duration>,
                    &check_number<M, NumberKind::duration>,
                    &write_duration_if_set<M>};
}

// --- [acme] and `tls = auto` ---

Opt rule_acme_ca(std::string_view v) {
    if (v.starts_with("https://") && v.size() > 8) return std::nullopt;
    return "expected the https:// URL of an ACME directory";
}

Opt rule_email(std::string_view v) {
    const size_t at = v.find('@');
    const bool ok = at != std::string_view::npos && at > 0 && at + 1 < v.size() &&
                    std::none_of(v.begin(), v.end(), [](char ch) {
                        return std::isspace(static_cast<unsigned char>(ch)) || ch == ',' ||
                               ch == '"' || ch == '<' || ch == '>';
                    });
    if (ok) return std::nullopt;
    return "expected one address such as admin@example.com";
}

Opt rule_challenges(std::string_view v) {
    const auto words = split_words(v);
    if (words.empty()) return "give http-01, tls-alpn-01 or both";
    for (size_t i = 0; i < words.size(); ++i) {
        if (words[i] != "http-01" && words[i] != "tls-alpn-01")
            return "unknown challenge '" + std::string(words[i]) +
                   "': expected http-01 and/or tls-alpn-01 (DNS-01 is not supported)";
        for (size_t j = 0; j < i; ++j)
            if (words[j] == words[i]) return "'" + std::string(words[i]) + "' is listed twice";
    }
    return std::nullopt;
}

Opt rule_key_type(std::string_view v) {
    if (v == "p256" || v == "rsa2048") return std::nullopt;
    return "expected p256 or rsa2048";
}

// [acme] keys are written only when they differ from the default, so a config without ACME
// serializes as it did before ACME existed.
template <auto M, Empty E, StringRule Rule>
void write_string_if_changed(const KeyOf<M>& k, const OwnerOf<M>& c, Values& out) {
    static const OwnerOf<M> defaults{};
    if (c.*M != defaults.*M) write_string<M, E, Rule>(k, c, out);
}

template <auto M, Empty E, StringRule Rule>
constexpr KeyOf<M> acme_key(std::string_view section, std::string_view name) {
    return KeyOf<M>{section,
                    name,
                    false,
                    0,
                    0,
                    &apply_string<M, E, Rule>,
                    &check_string<M, E, Rule>,
                    &write_string_if_changed<M, E, Rule>};
}

// `tls = auto` (or `off`, the default: the site's own tls_certificate/tls_key if any).
Opt apply_tls_mode(const SiteKey& k, SiteSettings& s, std::string_view value) {
    if (value == "auto" || value == "off") {
        s.tls_auto = value == "auto";
        return std::nullopt;
    }
    return invalid_value(k.name, value,
                         "expected auto (certificates from the [acme] CA) or off; for your own "
                         "certificate set tls_certificate and tls_key");
}

void write_tls_mode(const SiteKey&, const SiteSettings& s, Values& out) {
    if (s.tls_auto) out.push_back("auto");
}

// `default` is written only when on: a site is not the default unless it says so.
Opt apply_default(const SiteKey& k, SiteSettings& s, std::string_view value) {
    return apply_switch<&SiteSettings::is_default>(k, s, value);
}

void write_default(const SiteKey&, const SiteSettings& s, Values& out) {
    if (s.is_default) out.push_back(format_switch(true));
}

// --- proxy = PREFIX UPSTREAM (repeatable) and proxy_fallback = UPSTREAM ---

constexpr size_t kMaxSectionName = 64;

Opt rule_upstream_name(std::string_view v) {
    if (valid_section_name(v)) return std::nullopt;
    return "expected the NAME of an [upstream NAME] section (letters, digits, '.', '_', '-')";
}

template <auto M>
Opt apply_proxy(const KeyOf<M>& k, OwnerOf<M>& c, std::string_view value) {
    const auto words = split_words(value);
    if (words.size() < 2 || words.size() > 3 || words[0].front() != '/' ||
        (words.size() == 3 && words[2] != "stream"))
        return invalid_value(k.name, value,
                             "expected PREFIX UPSTREAM [stream], e.g. proxy = /api app");
    if (auto why = unrepresentable_reason(words[0])) return invalid_value(k.name, value, *why);
    if (words[0].find_first_of("?#") != std::string_view::npos)
        return invalid_value(k.name, value, "a prefix is a path: no '?' or '#'");
    if (auto why = rule_upstream_name(words[1])) return invalid_value(k.name, value, *why);
    std::vector<ProxyRoute>& routes = c.*M;
    for (const ProxyRoute& r : routes)
        if (r.prefix == words[0])
            return "duplicate proxy prefix " + r.prefix + " (already sent to " + r.upstream + ")";
    routes.push_back({std::string(words[0]), std::string(words[1]), words.size() == 3});
    return std::nullopt;
}

template <auto M>
Opt check_proxy(const KeyOf<M>& k, const OwnerOf<M>& c) {
    const std::vector<ProxyRoute>& routes = c.*M;
    for (size_t i = 0; i < routes.size(); ++i) {
        const ProxyRoute& r = routes[i];
        const std::string shown = r.prefix + " " + r.upstream;
        if (r.prefix.empty() || r.prefix.front() != '/' ||
            r.prefix.find_first_of(" \t?#") != std::string::npos)
            return invalid_value(k.name, shown, "a prefix is a path starting with '/'");
        if (auto why = unrepresentable_reason(r.prefix)) return invalid_value(k.name, shown, *why);
        if (auto why = rule_upstream_name(r.upstream)) return invalid_value(k.name, shown, *why);
        for (size_t j = 0; j < i; ++j)
            if (routes[j].prefix == r.prefix) return "duplicate proxy prefix " + r.prefix;
    }
    return std::nullopt;
}

template <auto M>
void write_proxy(const KeyOf<M>&, const OwnerOf<M>& c, Values& out) {
    for (const ProxyRoute& r : c.*M)
        out.push_back(r.prefix + " " + r.upstream + (r.stream ? " stream" : ""));
}

template <auto M>
constexpr KeyOf<M> proxy_key(std::string_view section) {
    return KeyOf<M>{section,         "proxy",         true,           0, 0,
                    &apply_proxy<M>, &check_proxy<M>, &write_proxy<M>};
}

// --- trusted_proxies = CIDR ... (repeatable; "unix" for unix-socket peers) ---

Opt apply_trusted_proxies(const ConfigKey& k, Config& c, std::string_view value) {
    const auto words = split_words(value);
    if (words.empty())
        return invalid_value(k.name, value, "give one or more CIDRs (127.0.0.1/8, ::1) or unix");
    for (std::string_view w : words) {
        auto cidr = parse_cidr(w);
        if (!cidr) return invalid_value(k.name, value, cidr.error());
        c.trusted_proxies.emplace_back(w);
    }
    return std::nullopt;
}

Opt check_trusted_proxies(const ConfigKey& k, const Config& c) {
    for (const std::string& v : c.trusted_proxies) {
        auto cidr = parse_cidr(v);
        if (!cidr) return invalid_value(k.name, v, cidr.error());
    }
    return std::nullopt;
}

void write_trusted_proxies(const ConfigKey&, const Config& c, Values& out) {
    for (const std::string& v : c.trusted_proxies) out.push_back(v);
}

using NK = NumberKind;

// Ranges: durations are bounded by a day (longer is a typo, not a policy); sizes by what one
// worker can sensibly buffer or count.
const ConfigKey kKeys[] = {
    {"server", "listen", true, 0, 0, &apply_listen<&Config::listen>, nullptr,
     &write_listen<&Config::listen>},
    {"server", "listen_tls", true, 0, 0, &apply_listen<&Config::listen_tls>, nullptr,
     &write_listen<&Config::listen_tls>},
    {"server", "workers", false, 0, 0, &apply_workers, &check_workers, &write_workers},
    number_key<&Config::defer_accept, NK::duration>("server", "defer_accept", 0, ms(600)),
    switch_key<&Config::delayed_ack>("server", "delayed_ack"),
    // Polling longer than a few milliseconds only burns CPU: a sleep and wake-up costs less.
    number_key<&Config::busy_poll, NK::micro_duration>("server", "busy_poll", 0, 10'000),
    number_key<&Config::graceful_timeout, NK::duration>("server", "graceful_timeout", 1,
                                                        ms(86'400)),
    // The heartbeat is bumped every second: below 2 s a busy but healthy worker could be killed.
    number_key<&Config::hang_timeout, NK::duration>("server", "hang_timeout", ms(2), ms(86'400)),
    number_key<&Config::max_draining_generations, NK::count>("server", "max_draining_generations",
                                                             1, 64),
    string_key<&Config::control_socket, Empty::off, rule_control_socket>("server",
                                                                         "control_socket"),
    {"server", "control_socket_mode", false, 0, 0, &apply_mode, &check_mode, &write_mode},
    string_key<&Config::control_socket_group, Empty::allowed, rule_group>("server",
                                                                          "control_socket_group"),
    {"server", "log_level", false, 0, 0, &apply_level, &check_level, &write_level},
    string_key<&Config::access_log, Empty::required, rule_access_log>("server", "access_log"),
    string_key<&Config::tls_protocols, Empty::required, rule_tls_protocols>("server",
                                                                            "tls_protocols"),
    string_key<&Config::tls_ciphers, Empty::required, rule_cipher_list>("server", "tls_ciphers"),
    // Below a minute, tickets issued to a client would expire before it comes back.
    number_key<&Config::tls_ticket_key_rotation, NK::duration>("server", "tls_ticket_key_rotation",
                                                               ms(1), ms(7 * 86'400)),
    switch_key<&Config::tls_ktls>("server", "tls_ktls"),

    string_key<&Config::root, Empty::required, rule_absolute>("http", "root"),
    string_key<&Config::index, Empty::required, rule_index>("http", "index"),
    number_key<&Config::keepalive_timeout, NK::duration>("http", "keepalive_timeout", 1,
                                                         ms(86'400)),
    number_key<&Config::header_timeout, NK::duration>("http", "header_timeout", 1, ms(86'400)),
    number_key<&Config::send_timeout, NK::duration>("http", "send_timeout", 1, ms(86'400)),
    number_key<&Config::min_send_rate, NK::size>("http", "min_send_rate", 0, kGiB),
    number_key<&Config::max_header_size, NK::size>("http", "max_header_size", kKiB, kMiB),
    number_key<&Config::max_body_size, NK::size>("http", "max_body_size", 0, 1024 * kGiB),
    number_key<&Config::max_connections, NK::count>("http", "max_connections", 1, 1'000'000),
    string_key<&Config::server_name, Empty::off, rule_server_name>("http", "server_name"),
    path_list_key<&Config::tls_certificate>("http", "tls_certificate"),
    path_list_key<&Config::tls_key>("http", "tls_key"),
    https_switch_key<&Config::redirect_https>("http", "redirect_https"),
    hsts_key<&Config::hsts>("http"),
    proxy_key<&Config::proxy>("http"),
    string_key<&Config::proxy_fallback, Empty::required, rule_upstream_name>("http",
                                                                             "proxy_fallback"),
    {"http", "trusted_proxies", true, 0, 0, &apply_trusted_proxies, &check_trusted_proxies,
     &write_trusted_proxies},

    string_key<&Config::source_file, Empty::required, rule_any>("meta", "source_file"),

    acme_key<&Config::acme_ca, Empty::required, rule_acme_ca>("acme", "ca"),
    acme_key<&Config::acme_email, Empty::allowed, rule_email>("acme", "email"),
    acme_key<&Config::acme_ca_root, Empty::allowed, rule_absolute>("acme", "ca_root"),
    acme_key<&Config::acme_challenges, Empty::required, rule_challenges>("acme", "challenges"),
    acme_key<&Config::acme_key_type, Empty::required, rule_key_type>("acme", "key_type"),
    acme_key<&Config::acme_state_dir, Empty::required, rule_absolute>("acme", "state_dir"),
    acme_key<&Config::acme_thumbprint, Empty::allowed, rule_any>("meta", "acme_thumbprint"),
};

// The keys of [site NAME]: what the static handler of one site uses. The rest of [http] acts
// on whole connections before a Host is known (minid.conf(5), SITES).
const SiteKey kSiteKeys[] = {
    {"site", "hosts", true, 0, 0, &apply_hosts, &check_hosts, &write_hosts},
    {"site", "default", false, 0, 0, &apply_default, nullptr, &write_default},
    string_key<&SiteSettings::root, Empty::required, rule_absolute>("site", "root"),
    string_key<&SiteSettings::index, Empty::required, rule_index>("site", "index"),
    string_key<&SiteSettings::server_name, Empty::off, rule_server_name>("site", "server_name"),
    path_list_key<&SiteSettings::tls_certificate>("site", "tls_certificate"),
    path_list_key<&SiteSettings::tls_key>("site", "tls_key"),
    https_switch_key<&SiteSettings::redirect_https>("site", "redirect_https"),
    hsts_key<&SiteSettings::hsts>("site"),
    proxy_key<&SiteSettings::proxy>("site"),
    string_key<&SiteSettings::proxy_fallback, Empty::required, rule_upstream_name>(
        "site", "proxy_fallback"),
    {"site", "tls", false, 0, 0, &apply_tls_mode, nullptr, &write_tls_mode},
};

// The keys of [upstream NAME]. Timeouts below a millisecond are typos; retry_window 0 = no retry.
const UpstreamKey kUpstreamKeys[] = {
    {"upstream", "server", true, 0, 0, &apply_server, nullptr, &write_servers},
    number_key<&UpstreamSettings::max_connections, NK::count>("upstream", "max_connections", 0,
                                                              1'000'000),
    number_key<&UpstreamSettings::keepalive, NK::count>("upstream", "keepalive", 0, 100'000),
    number_key<&UpstreamSettings::connect_timeout, NK::duration>("upstream", "connect_timeout", 1,
                                                                 ms(3'600)),
    number_key<&UpstreamSettings::read_timeout, NK::duration>("upstream", "read_timeout", 1,
                                                              ms(86'400)),
    number_key<&UpstreamSettings::send_timeout, NK::duration>("upstream", "send_timeout", 1,
                                                              ms(86'400)),
    number_key<&UpstreamSettings::retry_window, NK::duration>("upstream", "retry_window", 0,
                                                              ms(3'600)),
    number_key<&UpstreamSettings::keepalive_timeout, NK::duration>("upstream", "keepalive_timeout",
                                                                   1, ms(3'600)),
    number_key<&UpstreamSettings::max_temp_file_size, NK::size>("upstream", "max_temp_file_size", 0,
                                                                1024 * kGiB),
};

template <typename Key>
const Key* closest_key(std::span<const Key> keys, std::string_view section, std::string_view name) {
    const Key* best = nullptr;
    size_t best_distance = 3;  // only suggest within distance 2
    for (const Key& k : keys) {
        const size_t d = edit_distance(name, k.name);
        const bool better = d < best_distance || (d == best_distance && best &&
                                                  best->section != section && k.section == section);
        if (better) {
            best = &k;
            best_distance = d;
        }
    }
    return best;
}

}  // namespace

std::span<const ConfigKey> config_keys() {
    return kKeys;
}

const ConfigKey* find_config_key(std::string_view section, std::string_view name) {
    for (const ConfigKey& k : kKeys)
        if (k.section == section && k.name == name) return &k;
    return nullptr;
}

std::span<const SiteKey> site_keys() {
    return kSiteKeys;
}

const SiteKey* find_site_key(std::string_view name) {
    for (const SiteKey& k : kSiteKeys)
        if (k.name == name) return &k;
    return nullptr;
}

const ConfigKey* closest_config_key(std::string_view section, std::string_view name) {
    return closest_key<ConfigKey>(kKeys, section, name);
}

const SiteKey* closest_site_key(std::string_view name) {
    return closest_key<SiteKey>(kSiteKeys, kSiteSection, name);
}

std::span<const UpstreamKey> upstream_keys() {
    return kUpstreamKeys;
}

const UpstreamKey* find_upstream_key(std::string_view name) {
    for (const UpstreamKey& k : kUpstreamKeys)
        if (k.name == name) return &k;
    return nullptr;
}

const UpstreamKey* closest_upstream_key(std::string_view name) {
    return closest_key<UpstreamKey>(kUpstreamKeys, kUpstreamSection, name);
}

bool valid_section_name(std::string_view name) {
    return !name.empty() && name.size() <= kMaxSectionName &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                      c == '-';
           });
}

std::string invalid_value(std::string_view name, std::string_view value, std::string_view reason) {
    std::string m = "invalid ";
    m += name;
    m += " '";
    m += value;
    m += "': ";
    m += reason;
    return m;
}

}  // namespace minid
