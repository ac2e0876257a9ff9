// Response: what a handler answers — a structured head and a body source: nothing, bytes in
// memory, a range of an open file (sendfile), or a stream the handler produces with
// back-pressure (Exchange::write / Exchange::Producer::proceed).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/unique_fd.hpp"
#include "worker/http/response_head.hpp"

namespace minid::http {

// An open file shared by responses in flight and the open-file cache.
struct OpenFile {
    UniqueFd fd;
    uint64_t size = 0;
};

struct Response {
    enum class BodyKind : uint8_t { none, memory, file, stream };

    ResponseHead head;
    BodyKind body_kind = BodyKind::none;
    std::string_view memory;                   // body_kind == memory
    std::shared_ptr<const void> memory_owner;  // keeps `memory` alive (e.g. a cached file)
    std::shared_ptr<const OpenFile> file;      // body_kind == file
    uint64_t file_offset = 0;
    // Bytes of body to send (0 for HEAD/304). For a stream: the length the head announced in
    // Content-Length, or kUnknownLength (HTTP/1.1 then sends it chunked).
    uint64_t body_length = 0;
    // The handler wants the connection closed after this response (the session also closes
    // for its own reasons: the client asked, the worker drains, the request was not read whole).
    bool close = false;

    static constexpr uint64_t kUnknownLength = UINT64_MAX;

    int status() const { return head.status(); }

    // Starts a new response (keeping the head's capacity).
    void reset(int status) {
        head.reset(status);
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
