// StaticHandler implementation: method and target checks, cached lookup with once-per-second
// revalidation, conditionals and ranges, and head serialisation. A cache hit for a small file
// does not allocate: the target decodes into a reused buffer, the lookup takes a string_view,
// the head is written into the caller's reused string and the body is a view of the cache.
#include "worker/http/static_handler.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.hpp"
#include "worker/http/ascii.hpp"
#include "worker/http/conditional.hpp"
#include "worker/http/file_cache.hpp"
#include "worker/http/file_open.hpp"
#include "worker/http/range.hpp"
#include "worker/http/response_head.hpp"
#include "worker/http/status_text.hpp"
#include "worker/http/target_path.hpp"

namespace minid::http {

namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";

// What the request asks of every response to it.
struct Disposition {
    bool close = false;  // this response must end the connection
    bool head_only = false;
};

// A client that sent "Expect: 100-continue" may skip its body once it sees a final answer
// (RFC 9110 10.1.1); the parser would then read the next request as body, so such a
// connection is closed after the response instead.
bool may_skip_body(const Request& req) noexcept {
    return req.has_body && req.expect_continue;
}

class StaticFileHandler final : public StaticHandler {
  public:
    StaticFileHandler(SiteConfig config, UniqueFd root, const FileCacheLimits& limits)
        : config_(std::move(config)), root_(std::move(root)), cache_(limits) {
        open_path_.reserve(1024 + config_.index.size());
    }

    void build(const Request& req, std::time_t now, Response& out) override {
        Disposition d;
        d.close = may_skip_body(req);
        d.head_only = req.method == Method::head;

        if (req.method == Method::other) return respond_error(405, d, now, out);
        if (req.target == "*") return respond_error(400, d, now, out);
        const TargetPath t = decoder_.decode(req.target);
        if (t.status != 0) return respond_error(t.status, d, now, out);

        int status = 0;
        const std::shared_ptr<const CachedFile>* file = lookup(t, now, &status);
        if (file == nullptr) {
            if (status == 301) return respond_redirect(t, d, now, out);
            return respond_error(status, d, now, out);
        }
        respond_file(req, *file, d, now, out);
    }

    void error(int status, std::time_t now, Response& out) override {
        Disposition d;
        d.close = true;
        respond_error(status, d, now, out);
    }

  private:
    // The cache slot's entry for `t`, opened or revalidated as needed; nullptr with *status
    // set (301 for a directory named without its trailing slash) when there is no file.
    const std::shared_ptr<const CachedFile>* lookup(const TargetPath& t, std::time_t now,
                                                    int* status) {
        FileCache::Slot* slot = cache_.find(t.path);
        // Trusted for the rest of the second it was checked in; the connection gets `now`
        // from the loop's clock, so this is one stat-equivalent per file per second.
        if (slot != nullptr && slot->validated_at == now) return &slot->file;

        open_path_.assign(t.path);
        if (t.directory) open_path_.append(config_.index);
        OpenedFile opened = open_beneath(root_.get(), open_path_.c_str());
        if (!opened.fd && (opened.err == EMFILE || opened.err == ENFILE)) {
            // Out of fds. An entry that cannot be rechecked now was right a second ago, a far
            // better answer than an error; without one, the cache holds the only fds we can
            // give back.
            if (slot != nullptr) return &slot->file;
            cache_.drop_open_files();
            opened = open_beneath(root_.get(), open_path_.c_str());
        }
        if (!opened.fd) {
            if (slot != nullptr) cache_.erase(t.path);
            *status = status_for_open_error(opened.err);
            if (*status == 500) {
                log::error(sys_error("openat2", config_.root + "/" + open_path_, opened.err));
            }
            return nullptr;
        }
        const mode_t type = opened.st.st_mode & S_IFMT;
        if (type != S_IFREG) {
            if (slot != nullptr) cache_.erase(t.path);
            // A directory named without its slash is redirected; an index that is a directory,
            // or a device, FIFO or socket, is not something to serve.
            *status = (type == S_IFDIR && !t.directory) ? 301 : 403;
            return nullptr;
        }
        if (slot != nullptr && slot->file->identity == FileIdentity::of(opened.st)) {
            slot->validated_at = now;
            return &slot->file;
        }
        auto entry = load_cached_file(std::string(t.path), open_path_, std::move(opened),
                                      cache_.limits().max_file_in_memory);
        return &cache_.insert(std::move(entry), now).file;
    }

    void common_fields(ResponseHead& h, std::time_t now) {
        if (!config_.server_name.empty()) h.field("Server", config_.server_name);
        h.field("Date", date_.get(now));
    }

    void respond_error(int status, const Disposition& d, std::time_t now, Response& out,
                       uint64_t unsatisfied_size = 0) {
        const std::string_view page = error_page(status);
        out.reset(status);
        out.close = d.close;
        ResponseHead& h = out.head;
        common_fields(h, now);
        h.field("Content-Type", kHtml);
        h.field("Content-Length", page.size());
        if (status == 405) h.field("Allow", "GET, HEAD");
        if (status == 416) h.unsatisfied_range(unsatisfied_size);
        set_static_body(page, d, out);
    }

    void respond_redirect(const TargetPath& t, const Disposition& d, std::time_t now,
                          Response& out) {
        location_.clear();
        append_encoded_path(location_, t.path);
        location_.push_back('/');
        if (t.has_query) {
            location_.push_back('?');
            location_.append(t.query);
        }
        const std::string_view page = error_page(301);
        out.reset(301);
        out.close = d.close;
        ResponseHead& h = out.head;
        common_fields(h, now);
        h.field("Location", location_);
        h.field("Content-Type", kHtml);
        h.field("Content-Length", page.size());
        set_static_body(page, d, out);
    }

    static void set_static_body(std::string_view page, const Disposition& d, Response& out) {
        if (d.head_only) return;
        out.body_kind = Response::BodyKind::memory;
        out.memory = page;  // static storage: no owner needed
        out.body_length = page.size();
    }

    void respond_file(const Request& req, const std::shared_ptr<const CachedFile>& entry,
                      const Disposition& d, std::time_t now, Response& out) {
        const CachedFile& f = *entry;
        if (is_not_modified(req.if_none_match, req.if_modified_since, f.etag, f.mtime)) {
            out.reset(304);
            out.close = d.close;
            ResponseHead& h = out.head;
            common_fields(h, now);
            h.field("Last-Modified", f.last_modified_text());
            h.field("ETag", f.etag);
            return;
        }

        RangeDecision range;
        // Range is defined for GET only (RFC 9110 14.2); HEAD answers as a full GET would.
        if (req.method == Method::get && !req.range.empty() &&
            if_range_allows(req.if_range, f.etag, f.mtime)) {
            range = decide_range(req.range, f.size);
        }
        if (range.kind == RangeDecision::Kind::unsatisfiable) {
            return respond_error(416, d, now, out, f.size);
        }
        const bool partial = range.kind == RangeDecision::Kind::partial;
        const uint64_t first = partial ? range.first : 0;
        const uint64_t length = partial ? range.last - range.first + 1 : f.size;

        out.reset(partial ? 206 : 200);
        out.close = d.close;
        ResponseHead& h = out.head;
        common_fields(h, now);
        if (partial) {
            h.entity_fields(f.content_type, length, f.last_modified_text(), f.etag);
            h.content_range(range.first, range.last, f.size);
        } else {
            h.fields(f.full_fields);
        }

        if (d.head_only || length == 0) return;
        out.body_length = length;
        if (f.in_memory) {
            out.body_kind = Response::BodyKind::memory;
            out.memory = std::string_view(f.body).substr(first, length);
            out.memory_owner = entry;
        } else {
            out.body_kind = Response::BodyKind::file;
            out.file = f.file;
            out.file_offset = first;
        }
    }

    SiteConfig config_;
    UniqueFd root_;
    FileCache cache_;
    TargetDecoder decoder_;
    DateCache date_;
    std::string open_path_;  // NUL-terminated path for openat2, reused
    std::string location_;   // Location of a redirect, reused
};

// Refuses a configuration that could only fail later, per request.
Status check_config(const SiteConfig& c) {
    if (c.root.empty()) return make_error("document root is empty");
    if (c.index.empty() || c.index.find('/') != std::string::npos || c.index == "." ||
        c.index == ".." || c.index.find('\0') != std::string::npos) {
        return make_error("index '" + c.index + "' must be a plain file name");
    }
    if (c.server_name.find_first_of("\r\n") != std::string::npos) {
        return make_error("server name must not contain line breaks");
    }
    return {};
}

}  // namespace

Result<std::unique_ptr<StaticHandler>> StaticHandler::create(const SiteConfig& config) {
    return create(config, FileCacheLimits{});
}

Result<std::unique_ptr<StaticHandler>> StaticHandler::create(const SiteConfig& config,
                                                             const FileCacheLimits& cache_limits) {
    if (Status ok = check_config(config); !ok) return make_error(ok.error());
    const int fd = ::open(config.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error(sys_error("open", config.root, errno));
    UniqueFd root(fd);
    // Fail at start-up, not per request, where openat2 is missing (Linux < 5.6, or a seccomp
    // filter that refuses it).
    OpenedFile probe = open_beneath(root.get(), ".");
    if (!probe.fd) {
        if (probe.err == ENOSYS) {
            return make_error(
                "openat2 is not available: minid needs Linux 5.6 or later, and no seccomp filter "
                "that blocks openat2 (systemd's DynamicUser= and RestrictSUIDSGID= do)");
        }
        return make_error(sys_error("openat2", config.root, probe.err));
    }
    return std::unique_ptr<StaticHandler>(
        new StaticFileHandler(config, std::move(root), cache_limits));
}

}  // namespace minid::http
