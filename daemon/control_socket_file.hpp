// The control socket's file system side: its directory, a stale socket left by a crashed master,
// ownership and mode, and removal of exactly the file this master created.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace minid {

// Identifies the socket file this process bound, so close() never removes a successor's.
// Inode numbers are reused at once on tmpfs, so the change time (nanoseconds) is part of it.
struct SocketFileId {
    dev_t dev = 0;
    ino_t ino = 0;
    struct timespec ctime {};
    bool valid = false;
};

// Creates missing parent directories (mode 0755) and removes a stale socket at `path` (a socket
// nobody accepts on). Fails if something else is there or another process listens on it.
Status prepare_socket_path(const std::string& path);

// A non-blocking, close-on-exec unix stream socket bound to `path` (not yet listening). Bound
// here rather than by uv_pipe_bind(), because libuv unlinks a path it bound when the handle
// closes — even if the file by then belongs to a successor.
Result<UniqueFd> bind_unix_socket(const std::string& path);

// Group name (or decimal gid) to gid, with a clear error for an unknown group.
Result<gid_t> resolve_group(const std::string& group);

// chown to `group` (if not empty) and chmod to `mode` — done between bind() and listen(), so no
// client can connect while the file still has the umask's permissions.
Status set_socket_permissions(const std::string& path, unsigned mode, const std::string& group);

Result<SocketFileId> socket_file_id(const std::string& path);
// Unlinks `path` if it is still the file identified by `id`.
void remove_socket_file(const std::string& path, const SocketFileId& id);

}  // namespace minid
