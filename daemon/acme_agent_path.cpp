// find_acme_agent: see acme_agent_path.hpp.
#include "daemon/acme_agent_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/build_info.hpp"

namespace minid {
namespace {

// "" if `path` is an executable regular file, else why not.
std::string unusable_reason(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    if (::access(path.c_str(), X_OK) != 0) return std::strerror(errno);
    return {};
}

}  // namespace

Result<std::string> find_acme_agent(const std::string& minid_path,
                                    const std::string& installed_path) {
    std::vector<std::string> candidates;
    if (const size_t slash = minid_path.rfind('/'); slash != std::string::npos)
        candidates.push_back(minid_path.substr(0, slash + 1) + std::string(kAcmeAgentProgram));
    if (!installed_path.empty() && (candidates.empty() || candidates[0] != installed_path))
        candidates.push_back(installed_path);
    std::string why;
    for (const std::string& path : candidates) {
        const std::string reason = unusable_reason(path);
        if (reason.empty()) return path;
        why += (why.empty() ? "" : "; ") + path + ": " + reason;
    }
    return make_error("tls = auto needs the ACME agent program " + std::string(kAcmeAgentProgram) +
                      ", which is missing: " + why);
}

Result<std::string> find_acme_agent(const std::string& minid_path) {
    return find_acme_agent(minid_path, build::acme_agent_path);
}

}  // namespace minid
