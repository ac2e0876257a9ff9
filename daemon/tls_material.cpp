// Reads and checks the certificate and key files of every site; see tls_material.hpp.
#include "daemon/tls_material.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/acme_paths.hpp"
#include "common/unique_fd.hpp"
#include "worker/transport/tls_bundle.hpp"
#include "worker/transport/tls_context.hpp"

namespace minid {
namespace {

// Larger than any certificate chain or key; a bigger file is the wrong file.
constexpr size_t kMaxPemFile = 1 << 20;

Result<std::string> read_pem_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return make_error(path + ": " + std::strerror(errno));
    std::string text;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(path + ": " + std::strerror(errno));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxPemFile) return make_error(path + ": larger than 1 MiB, not PEM?");
    }
    return text;
}

struct SiteFiles {
    std::string name;  // "" for [http]
    const std::vector<std::string>* certificates;
    const std::vector<std::string>* keys;
    const std::vector<std::string>* hosts;
    std::vector<std::string> acme_file;  // tls = auto: the agent's chain+key file, if it has one
};

}  // namespace

Result<TlsMaterial> load_tls_material(const Config& config, bool tls_listeners, std::time_t now) {
    static const std::vector<std::string> kNoHosts;
    TlsMaterial out;
    std::vector<SiteFiles> sites;
    sites.reserve(config.sites.size() + 1);  // acme_file is pointed into
    if (!config.default_site())
        sites.push_back({"", &config.tls_certificate, &config.tls_key, &kNoHosts, {}});
    for (const SiteSettings& s : config.sites) {
        sites.push_back({s.name, &s.tls_certificate, &s.tls_key, &s.hosts, {}});
        if (!s.tls_auto || s.hosts.empty()) continue;
        // tls = auto: the certificate the ACME agent stored (leaf, chain and key in one file),
        // once there is one; until then the site's TLS handshakes are refused.
        const std::string file = acme_paths::certificate_file(config.acme_state_dir, s.hosts[0]);
        if (::access(file.c_str(), F_OK) == 0) {
            sites.back().acme_file = {file};
            sites.back().certificates = &sites.back().acme_file;
            sites.back().keys = &sites.back().acme_file;
        } else {
            out.warnings.push_back("[site " + s.name +
                                   "] has tls = auto and no certificate yet: its TLS handshakes "
                                   "fail until the ACME agent has obtained one");
        }
    }

    std::vector<SiteKeyPairs> bundle;
    const TlsPolicy policy{config.tls_protocols, config.tls_ciphers};
    for (const SiteFiles& f : sites) {
        if (f.certificates->empty()) continue;
        if (f.certificates->size() != f.keys->size())
            return make_error("tls_certificate and tls_key do not pair up");  // validated before
        SiteKeyPairs site{f.name, {}};
        for (size_t i = 0; i < f.certificates->size(); ++i) {
            TlsKeyPairText pair;
            pair.certificate_file = (*f.certificates)[i];
            pair.key_file = (*f.keys)[i];
            auto cert = read_pem_file(pair.certificate_file);
            if (!cert) return make_error(cert.error());
            auto key = read_pem_file(pair.key_file);
            if (!key) return make_error(key.error());
            pair.certificate_pem = std::move(cert).value();
            pair.key_pem = std::move(key).value();
            auto parsed = parse_key_pair(pair);
            if (!parsed) return make_error(parsed.error());
            for (std::string& w : key_pair_warnings(*parsed, pair.certificate_file, *f.hosts, now))
                out.warnings.push_back(std::move(w));
            site.pairs.push_back(std::move(pair));
        }
        // The whole site as a worker will build it: protocols, ciphers, one pair per key type.
        auto ctx = TlsContext::create(policy, site.pairs);
        if (!ctx) return make_error(ctx.error());
        bundle.push_back(std::move(site));
    }
    if (tls_listeners && config.default_tls_certificate().empty() && !config.acme_enabled())
        return make_error(
            "a listener speaks TLS (listen_tls, or a systemd socket named https) but the default "
            "site has no certificate: set tls_certificate and tls_key in [http] or in the "
            "default [site]");
    if (!bundle.empty()) out.bundle = encode_tls_bundle(bundle);
    return out;
}

}  // namespace minid
