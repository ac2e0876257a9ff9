// Transfer-Encoding list check (RFC 9112 6.1): anything but a single final "chunked" is refused.
#include "worker/http/transfer_coding.hpp"

#include "worker/http/ascii.hpp"

namespace minid::http {

TransferCodingVerdict check_transfer_codings(const Header* headers, uint32_t count) noexcept {
    int chunked = 0;
    bool other_after_chunked = false;
    bool other = false;
    for (uint32_t h = 0; h < count; ++h) {
        if (!ascii::iequals(headers[h].name, "transfer-encoding")) continue;
        std::string_view rest = headers[h].value;
        while (!rest.empty()) {
            const size_t comma = rest.find(',');
            const std::string_view item = ascii::trim_ows(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            if (item.empty()) continue;  // empty list elements are allowed (RFC 9110 5.6.1)
            if (ascii::iequals(item, "chunked")) {
                ++chunked;
            } else {
                other = true;
                if (chunked > 0) other_after_chunked = true;
            }
        }
    }
    if (other_after_chunked) return {501, "transfer coding after chunked"};
    if (other) return {501, "unsupported transfer coding"};
    if (chunked == 0) return {501, "empty Transfer-Encoding"};
    if (chunked > 1) return {400, "chunked applied more than once"};
    return {};
}

}  // namespace minid::http
