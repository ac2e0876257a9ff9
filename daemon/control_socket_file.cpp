// Control socket file handling with plain syscalls (the bind itself is libuv's).
#include "daemon/control_socket_file.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace minid {
namespace {

Status make_dirs(const std::string& dir) {
    if (dir.empty() || dir == "/") return {};
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return {};
        return make_error("control socket directory " + dir + " exists and is not a directory");
    }
    if (errno != ENOENT) return make_error(sys_error("stat", dir, errno));
    const auto slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash > 0)
        if (auto st2 = make_dirs(dir.substr(0, slash)); !st2) return st2;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        return make_error(sys_error("mkdir", dir, errno));
    // mkdir applies the umask; the directory must be searchable by the socket's group.
    if (::chmod(dir.c_str(), 0755) != 0) return make_error(sys_error("chmod", dir, errno));
    return {};
}

// True if a process accepts connections on the socket at `path`.
Result<bool> someone_listens(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return make_error(sys_error("socket", "AF_UNIX", errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
        return true;
    // EAGAIN: the listener's backlog is full, so it is very much alive.
    if (errno == EAGAIN) return true;
    if (errno == ECONNREFUSED) return false;
    return make_error(sys_error("connect", path, errno));
}

}  // namespace

Status prepare_socket_path(const std::string& path) {
    if (path.empty() || path[0] != '/')
        return make_error("control socket path must be absolute: " + path);
    if (path.size() >= sizeof(sockaddr_un::sun_path))
        return make_error("control socket path is longer than " +
                          std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes: " + path);
    if (auto st = make_dirs(path.substr(0, path.find_last_of('/'))); !st) return st;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return make_error(sys_error("stat", path, errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return make_error(path +
                          " exists and is not a socket; remove it or set another control_socket");
    auto listening = someone_listens(path);
    if (!listening) return make_error(listening.error());
    if (*listening)
        return make_error("another process (minid already running?) listens on " + path);
    log::info("removing stale control socket ", path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return make_error(sys_error("unlink", path, errno));
    return {};
}

Result<UniqueFd> bind_unix_socket(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path)
        return make_error("control socket path is longer than " +
                          std::to_string(sizeof addr.sun_path - 1) + " bytes: " + path);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return make_error(sys_error("socket", "AF_UNIX", errno));
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        return make_error(sys_error("bind", path, errno));
    return fd;
}

Result<gid_t> resolve_group(const std::string& group) {
    unsigned long numeric = 0;
    auto [end, ec] = std::from_chars(group.data(), group.data() + group.size(), numeric);
    if (!group.empty() && ec == std::errc{} && end == group.data() + group.size())
        return static_cast<gid_t>(numeric);
    struct group gr {};
    struct group* found = nullptr;
    int err = ERANGE;
    // getgrnam_r reports ERANGE when a group with many members does not fit the buffer.
    for (std::vector<char> buf(16384); err == ERANGE && buf.size() <= (1u << 22);
         buf.resize(buf.size() * 4))
        err = ::getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &found);
    if (err != 0) return make_error(sys_error("getgrnam", group, err));
    if (!found)
        return make_error("control_socket_group: no such group '" + group +
                          "' (create it, e.g. groupadd --system " + group + ", or unset the key)");
    return found->gr_gid;
}

Status set_socket_permissions(const std::string& path, unsigned mode, const std::string& group) {
    if (!group.empty()) {
        auto gid = resolve_group(group);
        if (!gid) return make_error(gid.error());
        if (::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0)
            return make_error(sys_error("chown", path + " to group " + group, errno));
    }
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
        return make_error(sys_error("chmod", path, errno));
    return {};
}

Result<SocketFileId> socket_file_id(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return make_error(sys_error("stat", path, errno));
    if (!S_ISSOCK(st.st_mode)) return make_error(path + " is not a socket");
    return SocketFileId{st.st_dev, st.st_ino, st.st_ctim, true};
}

void remove_socket_file(const std::string& path, const SocketFileId& id) {
    if (!id.valid) return;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    if (!S_ISSOCK(st.st_mode) || st.st_dev != id.dev || st.st_ino != id.ino ||
        st.st_ctim.tv_sec != id.ctime.tv_sec || st.st_ctim.tv_nsec != id.ctime.tv_nsec)
        return;  // a successor's file
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) log::warn(sys_error("unlink", path, errno));
}

}  // namespace minid
