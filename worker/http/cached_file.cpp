// Cache entry construction: the only place a file's content is read.
#include "worker/http/cached_file.hpp"

#include <unistd.h>

#include <cerrno>

#include "worker/http/etag.hpp"
#include "worker/http/mime_types.hpp"
#include "worker/http/response_head.hpp"

namespace minid::http {

namespace {

// Reads exactly `size` bytes from offset 0; false on error or early EOF.
bool read_whole(int fd, uint64_t size, std::string& out) {
    out.resize(size);
    uint64_t done = 0;
    while (done < size) {
        const ssize_t n = pread(fd, out.data() + done, size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<uint64_t>(n);
    }
    return true;
}

}  // namespace

std::shared_ptr<CachedFile> load_cached_file(std::string key, std::string_view open_path,
                                             OpenedFile opened, uint64_t max_in_memory) {
    auto f = std::make_shared<CachedFile>();
    f->key = std::move(key);
    f->open_path = open_path;
    f->identity = FileIdentity::of(opened.st);
    f->size = static_cast<uint64_t>(opened.st.st_size);
    f->mtime = opened.st.st_mtim.tv_sec;
    f->etag = make_etag(f->mtime, f->size);
    format_http_date(f->mtime, f->last_modified);
    f->content_type = mime_type_for(f->open_path);
    ResponseHead::format_entity_fields(f->full_fields, f->content_type, f->size,
                                       f->last_modified_text(), f->etag);
    if (f->size <= max_in_memory && read_whole(opened.fd.get(), f->size, f->body)) {
        f->in_memory = true;
    } else {
        f->body.clear();
        f->body.shrink_to_fit();
        auto of = std::make_shared<OpenFile>();
        of->fd = std::move(opened.fd);
        of->size = f->size;
        f->file = std::move(of);
    }
    return f;
}

}  // namespace minid::http
