// The ACME state directory's paths; see acme_paths.hpp.
#include "common/acme_paths.hpp"

namespace minid::acme_paths {

std::string safe_name(std::string_view text) {
    std::string out;
    for (char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-';
        out += ok ? c : '_';
    }
    if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
    return out;
}

std::string account_dir(const std::string& state_dir, const std::string& ca_url) {
    std::string_view u = ca_url;
    if (u.starts_with("https://")) u.remove_prefix(8);
    return state_dir + "/accounts/" + safe_name(u);
}

std::string certificate_dir(const std::string& state_dir, const std::string& name) {
    return state_dir + "/certificates/" + safe_name(name);
}

std::string certificate_file(const std::string& state_dir, const std::string& name) {
    return certificate_dir(state_dir, name) + "/certificate.pem";
}

std::string tls_alpn_file(const std::string& state_dir, const std::string& name) {
    return state_dir + "/tls-alpn/" + safe_name(name) + ".pem";
}

}  // namespace minid::acme_paths
