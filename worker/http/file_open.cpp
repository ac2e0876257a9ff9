// openat2 wrapper (glibc 2.36 has no wrapper, hence syscall()).
#include "worker/http/file_open.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace minid::http {

OpenedFile open_beneath(int root_fd, const char* rel) noexcept {
    OpenedFile out;
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    if (rel[0] == '\0') rel = ".";
    long fd;
    do {
        fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        out.err = errno;
        return out;
    }
    out.fd.reset(static_cast<int>(fd));
    if (fstat(out.fd.get(), &out.st) != 0) {
        out.err = errno;
        out.fd.reset();
    }
    return out;
}

int status_for_open_error(int err) noexcept {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
        case EXDEV:
            return 404;
        case EACCES:
        case EPERM:
        case ELOOP:
            return 403;
        case ENAMETOOLONG:
            return 414;
        case EMFILE:
        case ENFILE:
        case ENOMEM:
            return 503;  // the worker is out of a resource for now, not broken
        default:
            return 500;
    }
}

}  // namespace minid::http
