// Decides whether a request's Transfer-Encoding is one minid can frame: exactly "chunked".
#pragma once

#include <cstdint>
#include <string_view>

#include "worker/http/request.hpp"

namespace minid::http {

struct TransferCodingVerdict {
    int status = 0;  // 0: chunked only; 501: a coding minid does not implement; 400: malformed
    std::string_view reason;
};

// Looks at every Transfer-Encoding field among `headers` (their lists are combined).
TransferCodingVerdict check_transfer_codings(const Header* headers, uint32_t count) noexcept;

}  // namespace minid::http
