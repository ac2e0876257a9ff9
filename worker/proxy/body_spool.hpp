// BodySpool: holds a request or response body while the proxy buffers it: in memory up to a
// bound, then in an unlinked temp file, so a crash or kill leaves no file behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace minid::proxy {

// A new file in `dir` that has no name: O_TMPFILE, or where the filesystem has none, mkstemp
// and an unlink at once. Errors read "DIR: reason". `try_tmpfile` = false tests the fallback.
Result<UniqueFd> open_unnamed_temp_file(const std::string& dir, bool try_tmpfile = true);

class BodySpool {
  public:
    BodySpool(size_t memory_limit, std::string temp_dir);

    // Adds bytes at the end. Past the memory limit, everything moves to a temp file; an error
    // ("TEMP_DIR: No space left on device") leaves the spool as it was before the call.
    Status append(std::string_view data);

    uint64_t size() const { return size_; }
    bool in_file() const { return file_.valid(); }
    std::string_view memory() const { return memory_; }  // the bytes when !in_file()
    // The temp file when in_file() (all bytes are in it then), for pread/sendfile; else -1.
    int fd() const { return file_.get(); }

    // Copies up to `max` bytes from `offset` into `buf`; returns the count, 0 at the end.
    Result<size_t> read_at(uint64_t offset, char* buf, size_t max) const;

    // Back to empty memory; closes the file. The memory buffer keeps its capacity for reuse.
    void clear();

  private:
    Status write_file(std::string_view data, uint64_t offset);

    size_t memory_limit_;
    std::string temp_dir_;
    std::string memory_;
    UniqueFd file_;
    uint64_t size_ = 0;
};

}  // namespace minid::proxy
