// Turns OpenSSL's error queue into one log line.
#include "worker/transport/tls_errors.hpp"

#include <openssl/err.h>

namespace minid {

std::string ssl_error_text(std::string_view what) {
    std::string text(what);
    text += ": ";
    bool any = false;
    while (const unsigned long e = ERR_get_error()) {
        if (any) text += "; ";
        const char* reason = ERR_reason_error_string(e);
        if (reason) {
            text += reason;
        } else {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            text += buf;
        }
        any = true;
    }
    if (!any) text += "no detail from OpenSSL";
    return text;
}

void ssl_clear_errors() {
    ERR_clear_error();
}

TlsFailure classify_handshake_error(unsigned long err) {
    if (err == 0 || ERR_GET_LIB(err) != ERR_LIB_SSL) return TlsFailure::other;
    const int reason = ERR_GET_REASON(err);
    // SSL_R_SSLV3_ALERT_* and SSL_R_TLSV1_ALERT_*: an alert the client sent us.
    if (reason >= SSL_AD_REASON_OFFSET) return TlsFailure::client_alert;
    switch (reason) {
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_WRONG_SSL_VERSION:
            return TlsFailure::version;
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_SHARED_GROUPS:
        case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
        case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        case SSL_R_NO_CIPHERS_AVAILABLE:
            return TlsFailure::cipher;
        default:
            // The rest of OpenSSL's SSL reasons are broken protocol: plain HTTP ("http
            // request"), garbage ("wrong version number", "packet length too long"), bad messages.
            return TlsFailure::not_tls;
    }
}

}  // namespace minid
