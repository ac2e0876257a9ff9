// A certificate (leaf, then its chain) and its private key, parsed from PEM text and checked:
// the master does it at every start and reload from the files, a worker from the bytes the
// master sealed for it, so a worker never opens a key file.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "worker/transport/tls_errors.hpp"

namespace minid {

// One tls_certificate/tls_key pair as read from its files.
struct TlsKeyPairText {
    std::string certificate_file;  // for messages
    std::string key_file;
    std::string certificate_pem;  // leaf first, then the chain
    std::string key_pem;

    bool operator==(const TlsKeyPairText&) const = default;
};

struct TlsKeyPair {
    X509Ptr leaf;
    X509StackPtr chain;  // may be empty
    EvpPkeyPtr key;
};

// Parses the pair; an error is "FILE: reason" for the file at fault: no certificate, garbage,
// a chain whose certificates do not each certify the one before, a key that is not the leaf's.
Result<TlsKeyPair> parse_key_pair(const TlsKeyPairText& text);

// Problems that do not stop serving, each "FILE: ...": the leaf expired or is not valid yet at
// `now`, or does not name one of `hosts` (site host patterns; "*.x" checks a name under x).
std::vector<std::string> key_pair_warnings(const TlsKeyPair& pair, const std::string& file,
                                           const std::vector<std::string>& hosts, std::time_t now);

// "RSA" or "ECDSA" (or the key's OpenSSL type name) for messages; two pairs of one site must
// differ in it.
std::string key_type_name(const EVP_PKEY* key);

}  // namespace minid
