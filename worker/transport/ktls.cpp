// The kernel's kTLS offer, read from procfs.
#include "worker/transport/ktls.hpp"

#include <fstream>
#include <sstream>

namespace minid {

std::string ktls_unavailable_reason(std::string_view available_ulp_path) {
    std::ifstream in{std::string(available_ulp_path)};
    if (!in) return std::string(available_ulp_path) + " cannot be read";
    std::string word;
    while (in >> word)
        if (word == "tls") return "";
    return "'tls' is not in " + std::string(available_ulp_path) +
           " (a kernel without CONFIG_TLS, or the tls module is not loaded: modprobe tls)";
}

}  // namespace minid
