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

}  // namespace minid
