// TLS bundle encoding: JSON (nlohmann), so PEM text and odd file names need no escaping rules of
// our own.
#include "worker/transport/tls_bundle.hpp"

#include <nlohmann/json.hpp>

namespace minid {

std::string encode_tls_bundle(const std::vector<SiteKeyPairs>& sites) {
    nlohmann::json out = nlohmann::json::array();
    for (const SiteKeyPairs& s : sites) {
        nlohmann::json pairs = nlohmann::json::array();
        for (const TlsKeyPairText& p : s.pairs)
            pairs.push_back({{"certificate_file", p.certificate_file},
                             {"key_file", p.key_file},
                             {"certificate", p.certificate_pem},
                             {"key", p.key_pem}});
        out.push_back({{"site", s.site}, {"pairs", std::move(pairs)}});
    }
    return out.dump();
}

Result<std::vector<SiteKeyPairs>> decode_tls_bundle(std::string_view text) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array())
        return make_error("the TLS bundle from the master is not a JSON array");
    std::vector<SiteKeyPairs> out;
    try {
        for (const auto& s : j) {
            SiteKeyPairs site;
            site.site = s.at("site").get<std::string>();
            for (const auto& p : s.at("pairs"))
                site.pairs.push_back({p.at("certificate_file").get<std::string>(),
                                      p.at("key_file").get<std::string>(),
                                      p.at("certificate").get<std::string>(),
                                      p.at("key").get<std::string>()});
            out.push_back(std::move(site));
        }
    } catch (const nlohmann::json::exception& e) {
        return make_error(std::string("the TLS bundle from the master is malformed: ") + e.what());
    }
    return out;
}

std::string join_config_and_bundle(const std::string& config, const std::string& bundle) {
    if (bundle.empty()) return config;
    std::string out = config;
    out.push_back('\0');
    out += bundle;
    return out;
}

std::pair<std::string_view, std::string_view> split_config_and_bundle(std::string_view text) {
    const size_t nul = text.find('\0');
    if (nul == std::string_view::npos) return {text, {}};
    return {text.substr(0, nul), text.substr(nul + 1)};
}

}  // namespace minid
