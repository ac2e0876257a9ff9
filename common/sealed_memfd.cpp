// make_sealed_memfd implementation.
#include "common/sealed_memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.hpp"

namespace minid {

Result<UniqueFd> make_sealed_memfd(const char* name, std::string_view text, bool inherit) {
    UniqueFd fd(::memfd_create(name, MFD_ALLOW_SEALING | (inherit ? 0u : MFD_CLOEXEC)));
    if (!fd) return make_error(sys_error("memfd_create", name, errno));
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(sys_error("write", name, errno));
        off += static_cast<size_t>(n);
    }
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) !=
        0)
        return make_error(sys_error("fcntl(F_ADD_SEALS)", name, errno));
    return fd;
}

}  // namespace minid
