// OpenSSL's thread-local error queue as text for the log, and RAII owners of OpenSSL objects.
// Every failed OpenSSL call drains the queue, so an old error can never be blamed on a later call.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/tls_handshake_stats.hpp"

namespace minid {

// "what: reason; reason" from the queue, which is left empty; "what: no detail" if it was empty.
std::string ssl_error_text(std::string_view what);
// Empties the queue (before an operation whose failure will be read from it).
void ssl_clear_errors();
// The kind of failed handshake an OpenSSL error code (ERR_peek_error) stands for.
TlsFailure classify_handshake_error(unsigned long err);

struct SslDeleter {
    void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct SslCtxDeleter {
    void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct X509Deleter {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
struct EvpPkeyDeleter {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct X509StackDeleter {
    void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_pop_free(p, X509_free); }
};
struct BioDeleter {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};

using SslPtr = std::unique_ptr<SSL, SslDeleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

}  // namespace minid
