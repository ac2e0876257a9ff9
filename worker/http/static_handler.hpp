// StaticHandler: turns a Request into a Response for files under a document root —
// path resolution that cannot escape the root, MIME types, validators, conditionals, ranges.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "worker/http/exchange.hpp"
#include "worker/http/file_cache_limits.hpp"
#include "worker/http/handler.hpp"
#include "worker/http/request.hpp"
#include "worker/http/response.hpp"

namespace minid::http {

struct SiteConfig {
    std::string root;                   // absolute path of the document root
    std::string index = "index.html";   // served for a directory
    std::string server_name = "minid";  // Server: header value; empty omits the header
};

class StaticHandler : public Handler {
  public:
    // Opens the root directory (kept open; files are resolved beneath it).
    static Result<std::unique_ptr<StaticHandler>> create(const SiteConfig& config);
    // Same, with explicit bounds for the handler's open-file and small-file cache.
    static Result<std::unique_ptr<StaticHandler>> create(const SiteConfig& config,
                                                         const FileCacheLimits& cache_limits);

    // Answers at once: build() into the exchange's response, then respond().
    void handle(Exchange& ex) final {
        build(ex.request(), ex.now(), ex.response());
        ex.respond();
    }

    // Builds the response for `req` into `out` (reset first). Connection management is the
    // session's: out.close only says that this response must end the connection. `now` is the
    // current wall-clock second (for Date, cached per second).
    virtual void build(const Request& req, std::time_t now, Response& out) = 0;

    // A response for a request that could not be parsed or is refused before routing
    // (400, 408, 413, 414, 431, 501, 505, 503). Always closes the connection.
    virtual void error(int status, std::time_t now, Response& out) = 0;
};

}  // namespace minid::http
