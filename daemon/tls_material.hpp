// TLS material: the master reads every site's tls_certificate and tls_key files (the workers
// never do), checks each pair and each site's whole TLS setup, at start, for `minid -t` and at
// every reload. A failure fails the start or the reload like a bad config ("FILE: reason"); the
// old generation keeps serving what it had.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"

namespace minid {

struct TlsMaterial {
    std::string bundle;                 // encode_tls_bundle(); "" when no site has a certificate
    std::vector<std::string> warnings;  // "FILE: ..." (expired, names not covered)
};

// `tls_listeners`: some listener speaks TLS (from the config, or systemd's "https" sockets), so
// the default site must have a certificate. `now`: for the expiry warnings.
Result<TlsMaterial> load_tls_material(const Config& config, bool tls_listeners, std::time_t now);

}  // namespace minid
