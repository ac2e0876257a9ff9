// Where things live in the ACME state directory ([acme] state_dir). Shared by the master (reads
// certificates), the workers (read TLS-ALPN-01 challenge certificates) and the agent (writes
// them all; acme/acme_storage.hpp describes the layout).
#pragma once

#include <string>
#include <string_view>

namespace minid::acme_paths {

// A file or directory name from a URL or host name: letters, digits, '.' and '-' kept, the rest
// '_'; never starting with '.'.
std::string safe_name(std::string_view text);

std::string account_dir(const std::string& state_dir, const std::string& ca_url);
std::string certificate_dir(const std::string& state_dir, const std::string& name);
// Leaf, chain, then the key: one file, so one rename() replaces all of it.
std::string certificate_file(const std::string& state_dir, const std::string& name);
std::string tls_alpn_file(const std::string& state_dir, const std::string& name);

}  // namespace minid::acme_paths
