// CachedFile: everything needed to answer for one regular file, computed once when the file
// is opened: validators, Content-Type, and either the whole content or a shared open fd.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "worker/http/file_open.hpp"
#include "worker/http/http_date.hpp"
#include "worker/http/response.hpp"

namespace minid::http {

// What must stay equal for a cached answer to still describe the file at its path.
struct FileIdentity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    struct timespec mtime {};

    static FileIdentity of(const struct stat& st) noexcept {
        return {st.st_dev, st.st_ino, st.st_size, st.st_mtim};
    }
    bool operator==(const FileIdentity& o) const noexcept {
        return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
               mtime.tv_nsec == o.mtime.tv_nsec;
    }
};

struct CachedFile {
    std::string key;        // normalised request path (TargetPath::path), the cache key
    std::string open_path;  // what was opened beneath the root (key + index for a directory)
    FileIdentity identity;
    uint64_t size = 0;
    std::time_t mtime = 0;
    std::string etag;
    char last_modified[kHttpDateLength] = {};
    std::string_view content_type;         // static storage (the MIME table)
    bool in_memory = false;                // body holds the whole file; file is null
    std::string body;                      // in_memory only
    std::shared_ptr<const OpenFile> file;  // !in_memory: the fd responses sendfile() from
    // The entity fields of a full (200) response, Content-Type to Accept-Ranges, each ending in
    // CRLF: formatted once here, so a hit appends one string instead of formatting five fields.
    std::string full_fields;

    std::string_view last_modified_text() const noexcept {
        return {last_modified, kHttpDateLength};
    }
    // Bytes this entry keeps in memory, for the cache's budget.
    uint64_t memory_cost() const noexcept {
        return body.size() + key.size() + open_path.size() + full_fields.size();
    }
};

// Builds the entry for an opened regular file. Files of at most `max_in_memory` bytes are
// read whole and their fd closed; larger ones (or ones that shrink while being read) keep it.
std::shared_ptr<CachedFile> load_cached_file(std::string key, std::string_view open_path,
                                             OpenedFile opened, uint64_t max_in_memory);

}  // namespace minid::http
