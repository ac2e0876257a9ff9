// BodySpool: memory first; the first append that would pass the bound moves the bytes to an
// unnamed file written with pwrite, so a failed write can be retried at the same offset.
#include "worker/proxy/body_spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace minid::proxy {

namespace {

Error dir_error(const std::string& dir, int err) {
    return make_error(dir + ": " + std::strerror(err));
}

// Filesystems without O_TMPFILE say so in one of these ways (open(2)).
bool no_tmpfile_support(int err) {
    return err == EOPNOTSUPP || err == EISDIR || err == EINVAL;
}

}  // namespace

Result<UniqueFd> open_unnamed_temp_file(const std::string& dir, bool try_tmpfile) {
    if (try_tmpfile) {
        const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) return UniqueFd(fd);
        if (!no_tmpfile_support(errno)) return dir_error(dir, errno);
    }
    std::string path = dir + "/minid-body-XXXXXX";
    UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));  // mode 0600
    if (!fd) return dir_error(dir, errno);
    if (::unlink(path.c_str()) != 0) {
        const int err = errno;
        return make_error(path + ": cannot unlink the new temp file: " + std::strerror(err));
    }
    return fd;
}

BodySpool::BodySpool(size_t memory_limit, std::string temp_dir)
    : memory_limit_(memory_limit), temp_dir_(std::move(temp_dir)) {}

Status BodySpool::write_file(std::string_view data, uint64_t offset) {
    while (!data.empty()) {
        const ssize_t n =
            ::pwrite(file_.get(), data.data(), data.size(), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return dir_error(temp_dir_, errno);
        }
        if (n == 0) return dir_error(temp_dir_, EIO);
        data.remove_prefix(static_cast<size_t>(n));
        offset += static_cast<uint64_t>(n);
    }
    return {};
}

Status BodySpool::append(std::string_view data) {
    if (!in_file()) {
        if (memory_.size() + data.size() <= memory_limit_) {
            memory_.append(data);
            size_ += data.size();
            return {};
        }
        Result<UniqueFd> fd = open_unnamed_temp_file(temp_dir_);
        if (!fd) return make_error(fd.error());
        file_ = std::move(*fd);
        if (Status s = write_file(memory_, 0); !s) {
            file_.reset();
            return s;
        }
        // The body is large: the memory is given back rather than held for reuse.
        std::string().swap(memory_);
    }
    if (Status s = write_file(data, size_); !s) return s;
    size_ += data.size();
    return {};
}

Result<size_t> BodySpool::read_at(uint64_t offset, char* buf, size_t max) const {
    if (offset >= size_ || max == 0) return size_t{0};
    const auto want = static_cast<size_t>(std::min<uint64_t>(max, size_ - offset));
    if (!in_file()) {
        std::memcpy(buf, memory_.data() + offset, want);
        return want;
    }
    for (;;) {
        const ssize_t n = ::pread(file_.get(), buf, want, static_cast<off_t>(offset));
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR) return dir_error(temp_dir_, errno);
    }
}

void BodySpool::clear() {
    memory_.clear();
    file_.reset();
    size_ = 0;
}

}  // namespace minid::proxy
