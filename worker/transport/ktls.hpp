// kTLS (the kernel encrypts TLS records, so files go out with sendfile): whether this kernel
// offers it, read from /proc/sys/net/ipv4/tcp_available_ulp, which lists "tls" once the tls
// module is loaded (CONFIG_TLS). OpenSSL then switches a connection to kTLS after its handshake
// (SSL_OP_ENABLE_KTLS) and falls back to encrypting in user space if the kernel refuses.
#pragma once

#include <string>
#include <string_view>

namespace minid {

// "" when the kernel offers kTLS, else why not (for the one log line that says so).
std::string ktls_unavailable_reason(
    std::string_view available_ulp_path = "/proc/sys/net/ipv4/tcp_available_ulp");

}  // namespace minid
