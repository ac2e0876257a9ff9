// Response: what to send for one request — a head (status line + headers) and a body that is
// nothing, bytes in memory, or a range of an open file (sent with sendfile).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/unique_fd.hpp"

namespace minid::http {

// An open file shared by responses in flight and the open-file cache.
struct OpenFile {
    UniqueFd fd;
    uint64_t size = 0;
};

struct Response {
    enum class BodyKind : uint8_t { none, memory, file };

    int status = 200;
    // Status line + headers + empty line. The caller reuses one Response per connection, so the
    // string's capacity is kept and building a head does not allocate after warm-up.
    std::string head;
    BodyKind body_kind = BodyKind::none;
    std::string_view memory;                   // body_kind == memory
    std::shared_ptr<const void> memory_owner;  // keeps `memory` alive (e.g. a cached file)
    std::shared_ptr<const OpenFile> file;      // body_kind == file
    uint64_t file_offset = 0;
    uint64_t body_length = 0;  // bytes of body to send (0 for HEAD/304)
    bool close = false;        // close the connection after sending this

    void clear() {
        status = 200;
        head.clear();
        body_kind = BodyKind::none;
        memory = {};
        memory_owner.reset();
        file.reset();
        file_offset = 0;
        body_length = 0;
        close = false;
    }
};

}  // namespace minid::http
