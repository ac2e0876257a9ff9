// The kinds of failed TLS handshakes a worker counts in its stats slot, with the names minidctl
// shows (status --json, metrics). Values index WorkerSlot::tls_failures: append, never reorder.
#pragma once

#include <cstddef>
#include <cstdint>

namespace minid {

enum class TlsFailure : uint8_t {
    version,       // the client offered only versions we refuse (SSLv3, TLS 1.0/1.1)
    cipher,        // no cipher suite, group or signature algorithm in common
    not_tls,       // not a TLS client: plain HTTP, garbage, a malformed record or message
    client_alert,  // the client ended it with an alert (it refused our certificate, say)
    timeout,       // not finished within header_timeout
    closed,        // the client closed or reset the connection before the end
    other,         // any other OpenSSL error
};
inline constexpr size_t kTlsFailureKinds = 7;
inline constexpr const char* kTlsFailureNames[kTlsFailureKinds] = {
    "version", "cipher", "not_tls", "client_alert", "timeout", "closed", "other"};

}  // namespace minid
