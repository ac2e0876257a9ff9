// Opening files beneath the document root with openat2(RESOLVE_BENEATH): no "..", absolute
// symlink or magic link can lead outside it, whatever the path or the tree contains.
#pragma once

#include <sys/stat.h>

#include "common/unique_fd.hpp"

namespace minid::http {

struct OpenedFile {
    UniqueFd fd;
    struct stat st {};
    int err = 0;  // errno of openat2 or fstat when !fd
};

// Opens `rel` (relative, NUL-terminated; "" or "." is the root itself) read-only, close-on-exec
// and non-blocking (so a FIFO cannot stall the worker), then fstat()s it.
OpenedFile open_beneath(int root_fd, const char* rel) noexcept;

// The HTTP status for a failed open: ENOENT/ENOTDIR/EXDEV (escape attempt, not revealed)
// -> 404; EACCES/EPERM/ELOOP -> 403; ENAMETOOLONG -> 414; EMFILE/ENFILE/ENOMEM -> 503;
// anything else -> 500.
int status_for_open_error(int err) noexcept;

}  // namespace minid::http
