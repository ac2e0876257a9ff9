// Bounds of the per-worker open-file and small-file cache (a plain struct so the config and
// the handler can name it without pulling in the cache itself).
#pragma once

#include <cstddef>
#include <cstdint>

namespace minid::http {

struct FileCacheLimits {
    size_t max_entries = 4096;
    size_t max_open_files = 256;             // entries that hold an fd (files sent by sendfile)
    uint64_t max_memory = 64ull << 20;       // content of small files, plus keys
    uint64_t max_file_in_memory = 64 << 10;  // larger files are sent from their fd
};

}  // namespace minid::http
