// Asking the CA for a certificate's renewal information (RFC 9773) over its whole life: right
// after issuance and then as often as the CA asks, so that a window the CA moves earlier (an
// incident, a revocation to come) moves the renewal earlier.
#pragma once

#include <cstdint>
#include <string>

#include "acme/acme_client.hpp"
#include "acme/renewal_policy.hpp"

namespace minid::acme {

struct AriCheck {
    int64_t next_renewal = 0;  // the renewal time, unchanged or earlier
    std::string error;         // why the CA's answer could not be used ("" = it was)
};

// Asks `client` (opened: it knows the directory) about `chain_pem` and updates `ari`: the
// window and when to ask again (ari_poll_seconds). A window not heard before picks a time in it
// (ari_renewal_time) and moves `next_renewal` there when that is earlier; the same window again
// changes nothing, so the jitter is drawn once per window and repeated polls do not creep the
// renewal earlier. A CA without ARI is asked again (its directory) at the default interval.
AriCheck check_renewal_info(Client& client, const std::string& chain_pem, int64_t next_renewal,
                            AriState& ari, int64_t now_s, double random01);

}  // namespace minid::acme
