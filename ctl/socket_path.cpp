// Control socket path resolution.
#include "ctl/socket_path.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "common/build_info.hpp"
#include "common/config.hpp"
#include "common/config_ini.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace minid::ctl {
namespace {

Failure socket_off(std::string_view origin) {
    return {kExitNotRunning,
            "the control socket is off in " + std::string(origin) +
                " (control_socket = off): use signals, or set control_socket and reload"};
}

Expected<std::string> read_whole_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        return Failure{err == EACCES || err == EPERM ? kExitPermission : kExitUsage,
                       sys_error("open", path, err)};
    }
    std::string text;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return Failure{kExitUsage, sys_error("read", path, errno)};
        }
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > (16u << 20))
            return Failure{kExitUsage, path + " is too large for a config file"};
    }
    return text;
}

}  // namespace

Expected<std::string> control_socket_from_config_text(std::string_view text,
                                                      std::string_view origin) {
    auto config = parse_config_text(text, origin);
    if (config.ok()) {
        if (!config->control_socket_enabled()) return socket_off(origin);
        return config->control_socket;
    }
    std::optional<std::string> value;
    for (const IniEntry& e : read_ini(text).entries)
        if (e.section == "server" && e.key == "control_socket") value = e.value;
    if (!value) return std::string(build::default_control_socket);
    if (value->empty() || *value == "off") return socket_off(origin);
    if ((*value)[0] != '/')
        return Failure{kExitUsage,
                       std::string(origin) + ": control_socket is not an absolute path: " + *value};
    return *value;
}

Expected<std::string> resolve_socket_path(const CtlOptions& options) {
    if (options.control_path) return *options.control_path;
    if (options.config_path) {
        auto text = read_whole_file(*options.config_path);
        if (!text.ok()) return text.failure();
        return control_socket_from_config_text(*text, *options.config_path);
    }
    return std::string(build::default_control_socket);
}

}  // namespace minid::ctl
