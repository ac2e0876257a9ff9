// Config: every setting minid runs with, parsed from INI (inih) and overridden by the command line.
// The master validates it once and hands workers the canonical text (serialize()) so both
// always agree on the settings.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/build_info.hpp"
#include "common/listen_address.hpp"
#include "common/log.hpp"
#include "common/result.hpp"

namespace minid {

using Millis = std::chrono::milliseconds;

// Mozilla's "intermediate" TLS settings (v6): TLS 1.2 and 1.3; for TLS 1.2 only ECDHE key
// exchange with AEAD ciphers (TLS 1.3's suites are all AEAD and stay OpenSSL's).
inline constexpr std::string_view kDefaultTlsProtocols = "TLSv1.2 TLSv1.3";
inline constexpr std::string_view kDefaultTlsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

inline constexpr std::string_view kDefaultAcmeCa = "https://acme-v02.api.letsencrypt.org/directory";
inline constexpr std::string_view kDefaultAcmeChallenges = "http-01 tls-alpn-01";
inline constexpr std::string_view kDefaultAcmeStateDir = "/var/lib/minid/acme";

// `proxy = PREFIX UPSTREAM`: targets whose path starts with PREFIX go to [upstream UPSTREAM].
struct ProxyRoute {
    std::string prefix;    // starts with '/'
    std::string upstream;  // the NAME of an [upstream NAME] section
    // "proxy = PREFIX UPSTREAM stream": responses are streamed, not buffered (long polls,
    // downloads the app produces slowly).
    bool stream = false;

    bool operator==(const ProxyRoute&) const = default;
};

// One [upstream NAME] section: the app servers a proxy route sends requests to. Counts and
// bounds are per worker process.
struct UpstreamSettings {
    std::string name;  // [upstream NAME]: letters, digits, '.', '_', '-'
    // "unix:/run/app.sock", "127.0.0.1:8000", "[::1]:8000", "localhost:8000"; repeatable,
    // balanced by fewest outstanding requests.
    std::vector<ListenAddress> servers;
    // Connections open at once to this upstream (per worker); 0 = no limit. Beyond it requests
    // wait in a bounded queue, and get 503 when it is full or they waited retry_window.
    uint32_t max_connections = 0;
    uint32_t keepalive = 32;  // idle connections kept for reuse (per worker); 0 = none
    Millis connect_timeout{5'000};
    Millis read_timeout{60'000};  // between two reads of the response (504 before any byte)
    Millis send_timeout{60'000};  // between two writes of the request
    // How long a request may keep trying servers that refuse connections (an app restarting).
    Millis retry_window{5'000};
    // An idle pooled connection is closed after this, below the app's own idle timeout
    // (Gunicorn's is 2 s), so minid never reuses one the app is closing.
    Millis keepalive_timeout{1'500};
    // A buffered response's temp file never grows beyond this (nginx's
    // proxy_max_temp_file_size): the rest goes to the client at its pace, and the app waits.
    // 0 = responses are never spooled to disk (only the in-memory buffer).
    uint64_t max_temp_file_size = uint64_t{1} << 30;

    bool operator==(const UpstreamSettings&) const = default;
};

// One [site NAME] section: a virtual host chosen by the request's Host, with its own document
// root. Only what the static handler uses is per site; the other [http] keys apply to whole
// connections, before any Host is known (see minid.conf(5), SITES).
struct SiteSettings {
    std::string name;  // [site NAME]: letters, digits, '.', '_', '-'
    // Lower case, no trailing dot: "example.com", "*.example.org" (one or more labels before
    // example.org), "[::1]". Ports are not part of a pattern.
    std::vector<std::string> hosts;
    // Requests whose Host matches no site go here instead of to [http]'s root. At most one.
    bool is_default = false;
    std::string root;  // absolute; required
    // Unset in the file -> [http]'s value at the end of parsing.
    std::string index = "index.html";
    std::string server_name = "minid";
    // HTTPS. Certificates (PEM: leaf, then its chain) and keys pair up in order; two pairs give
    // an ECDSA and an RSA certificate, chosen by what the client supports.
    std::vector<std::string> tls_certificate;
    std::vector<std::string> tls_key;
    bool redirect_https = false;  // plain-HTTP requests get 308 to https (not ACME challenges)
    Millis hsts{0};               // Strict-Transport-Security max-age on TLS responses; 0 = off
    // Reverse proxy: the longest matching prefix wins; requests that match none and find no file
    // under root go to proxy_fallback ("" = none: 404).
    std::vector<ProxyRoute> proxy;
    std::string proxy_fallback;
    // `tls = auto`: certificates for `hosts` come from the [acme] CA (instead of tls_certificate
    // and tls_key); accepting the CA's terms of service.
    bool tls_auto = false;

    bool operator==(const SiteSettings&) const = default;
};

struct Config {
    // [server]
    // "listen" may repeat; a file that sets it replaces this default list.
    std::vector<ListenAddress> listen{{ListenAddress::Kind::inet, "127.0.0.1", 8080}};
    // "listen_tls" may repeat: addresses that speak HTTPS. None by default.
    std::vector<ListenAddress> listen_tls;
    std::string tls_protocols{kDefaultTlsProtocols};  // space-separated: TLSv1.2, TLSv1.3
    std::string tls_ciphers{kDefaultTlsCiphers};      // OpenSSL cipher list for TLS 1.2
    unsigned workers = 0;                             // 0 = auto (one per CPU this process may use)
    // TCP_DEFER_ACCEPT on TCP listeners: a connection is handed to a worker when its first data
    // arrives (or after about this long); 0 = off.
    Millis defer_accept{1'000};
    // TCP_QUICKACK off on TCP listeners: the ACK of a new connection's first request rides on
    // the response instead of going out alone, one packet fewer per connection.
    bool delayed_ack = true;
    // After an idle gap shorter than this, a worker polls for up to this long before it sleeps
    // again, sparing the client the cost of waking it; after a longer gap it sleeps at once.
    // 0 = always sleep: the default, since polling costs CPU time an operator pays for (opt-in,
    // see minid.conf(5)).
    std::chrono::microseconds busy_poll{0};
    Millis graceful_timeout{30'000};        // drain bound on reload/stop
    Millis hang_timeout{10'000};            // a worker whose loop stalls this long is killed
    unsigned max_draining_generations = 4;  // reloads beyond this kill the oldest draining gen
    // "" disables (the file spells it "off"; parsing stores ""). Default set at build time.
    std::string control_socket = build::default_control_socket;
    unsigned control_socket_mode = 0600;
    std::string control_socket_group;  // "" = keep the master's group
    log::Level log_level = log::Level::info;
    std::string access_log = "stdout";  // "stdout", "off", or an absolute file path
    // The master makes a new TLS session-ticket key this often and keeps the two before it for
    // decryption, so a ticket resumes for two to three periods, on any worker of any generation.
    Millis tls_ticket_key_rotation{12 * 3'600'000};
    // kTLS where the kernel offers it: files leave with sendfile, encrypted by the kernel.
    bool tls_ktls = false;

    // [http]
    std::string root;  // document root (absolute)
    std::string index = "index.html";
    Millis keepalive_timeout{60'000};
    Millis header_timeout{10'000};  // whole request head must arrive within this
    Millis send_timeout{60'000};    // a reader that takes no bytes for this long is cut
    // A reader that takes fewer bytes a second than this, averaged over send_timeout, is cut;
    // 0 = no minimum.
    uint64_t min_send_rate = 512;
    uint32_t max_header_size = 8192;    // request line + headers; over -> 414 / 431
    uint64_t max_body_size = 1 << 20;   // bodies are read and discarded; over -> 413
    uint32_t max_connections = 10'000;  // per worker
    std::string server_name = "minid";  // Server: header value; "" omits the header
    // HTTPS of the default site when no [site] is the default (see SiteSettings).
    std::vector<std::string> tls_certificate;
    std::vector<std::string> tls_key;
    bool redirect_https = false;
    Millis hsts{0};
    // Reverse proxy of the default site when no [site] is the default (see SiteSettings).
    std::vector<ProxyRoute> proxy;
    std::string proxy_fallback;
    // Peers (CIDRs, "unix" for unix-socket peers) whose X-Forwarded-For and Forwarded the proxy
    // appends to instead of replacing; empty = none is trusted.
    std::vector<std::string> trusted_proxies;

    // [site NAME] sections, in file order. Without a site marked default, root/index/
    // server_name above form the default site, as they did before sites existed.
    std::vector<SiteSettings> sites;
    // [upstream NAME] sections, in file order.
    std::vector<UpstreamSettings> upstreams;

    // Where the settings came from (absolute), for messages and `minidctl status`.
    // "" = embedded defaults. Serialized as `[meta] source_file`.
    std::string source_file;

    // [acme]: the CA that sites with `tls = auto` get their certificates from (acme/).
    std::string acme_ca{kDefaultAcmeCa};
    std::string acme_email;    // "" = no contact
    std::string acme_ca_root;  // PEM roots trusted for the CA's own HTTPS, besides the system's
    std::string acme_challenges{kDefaultAcmeChallenges};  // "http-01 tls-alpn-01", in order
    std::string acme_key_type{"p256"};                    // certificate keys: p256 or rsa2048
    std::string acme_state_dir{kDefaultAcmeStateDir};     // account, certificates, locks

    // Set by the master, never by a file: the ACME account key's RFC 7638 thumbprint, from which
    // workers answer HTTP-01 challenges. Serialized as `[meta] acme_thumbprint`.
    std::string acme_thumbprint;

    // `workers`, or for auto the CPUs this process may run on (usable_cpus.hpp), at least 1.
    unsigned effective_workers() const;
    // Canonical INI text that parse_config_text() turns back into an equal Config. Exact for
    // every Config that passes validate_config() (which rejects strings INI cannot hold, such
    // as "a ;b" or control characters).
    std::string serialize() const;
    // The [site] marked `default = on`, or null when [http]'s root is the default site.
    const SiteSettings* default_site() const;
    SiteSettings* default_site();
    // The default site's certificate and key files (its [site] or [http]'s).
    const std::vector<std::string>& default_tls_certificate() const {
        const SiteSettings* d = default_site();
        return d ? d->tls_certificate : tls_certificate;
    }
    // The [upstream] of that name, or null.
    const UpstreamSettings* find_upstream(std::string_view name) const;
    // Some site has `tls = auto`: the master runs the ACME agent.
    bool acme_enabled() const;
    bool control_socket_enabled() const {
        return !control_socket.empty() && control_socket != "off";
    }

    bool operator==(const Config&) const = default;
};

// Command-line settings that override the file, and keep overriding it across reloads.
struct ConfigOverrides {
    std::vector<ListenAddress> listen;      // non-empty replaces the file's listen list
    std::vector<ListenAddress> listen_tls;  // non-empty replaces the file's listen_tls list
    std::optional<std::string> root;  // the default site's root ([http]'s or the default [site]'s)
    std::optional<unsigned> workers;  // 0 = auto
};

// The compiled-in default document root (the sample site).
std::string default_root();

// Parses INI text. `origin` names the file in messages ("minid.conf:12: unknown key 'lsten'").
// Errors list every problem found, one per line, each with origin:line. Only the syntax and
// ranges of values are checked here (no filesystem access); source_file is taken from
// `[meta] source_file` if present, else left "".
Result<Config> parse_config_text(std::string_view text, std::string_view origin);

// Reads and parses `path`, then applies overrides and validates (root exists, listen non-empty...).
// An empty path means: embedded defaults plus overrides. Unset root -> default_root(); a
// relative override root is made absolute against the current directory.
Result<Config> load_config(const std::string& path, const ConfigOverrides& overrides);

// Checks cross-field rules and the filesystem (root is a directory). Used by load_config.
Status validate_config(const Config& config);

}  // namespace minid
