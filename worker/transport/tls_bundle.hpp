// The TLS bundle: every site's certificates and keys as PEM text, read and checked by the master
// and sealed with the config for the workers ("config text, NUL, bundle" in one memfd), so a
// worker never opens a key file.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "worker/transport/tls_credentials.hpp"

namespace minid {

struct SiteKeyPairs {
    std::string site;  // [site NAME]; "" for [http]'s default site
    std::vector<TlsKeyPairText> pairs;

    bool operator==(const SiteKeyPairs&) const = default;
};

std::string encode_tls_bundle(const std::vector<SiteKeyPairs>& sites);
Result<std::vector<SiteKeyPairs>> decode_tls_bundle(std::string_view text);

// "CONFIG\0BUNDLE" (just CONFIG when there is no bundle), and back. A config text never holds a
// NUL (the parser refuses one).
std::string join_config_and_bundle(const std::string& config, const std::string& bundle);
std::pair<std::string_view, std::string_view> split_config_and_bundle(std::string_view text);

}  // namespace minid
