// Renewal information polling; see ari_poll.hpp.
#include "acme/ari_poll.hpp"

#include <algorithm>

namespace minid::acme {

AriCheck check_renewal_info(Client& client, const std::string& chain_pem, int64_t next_renewal,
                            AriState& ari, int64_t now_s, double random01) {
    AriCheck out{next_renewal, ""};
    if (!client.has_renewal_info()) {
        ari.next_check = now_s + kAriDefaultPollSeconds;
        return out;
    }
    auto window = client.renewal_info(chain_pem);
    if (!window) {
        ari.next_check = now_s + ari_poll_seconds(false, client.ari_retry_after_s());
        out.error = window.error();
        return out;
    }
    ari.next_check = now_s + ari_poll_seconds(true, window->retry_after_s);
    if (window->start == ari.window_start && window->end == ari.window_end) return out;
    ari.window_start = window->start;
    ari.window_end = window->end;
    out.next_renewal =
        std::min(next_renewal, ari_renewal_time(window->start, window->end, now_s, random01));
    return out;
}

}  // namespace minid::acme
