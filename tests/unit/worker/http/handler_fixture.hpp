// Shared fixture for StaticHandler tests: a document root with known files, a way to build
// requests without a parser, and readers for the produced head and body.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/worker/http/temp_tree.hpp"
#include "worker/http/http1_serializer.hpp"
#include "worker/http/static_handler.hpp"

namespace minid::http::testing {

inline constexpr std::time_t kFileTime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
inline constexpr std::time_t kNow = 1700000000;      // Tue, 14 Nov 2023 22:13:20 GMT

inline std::string big_content() {
    std::string s(100 * 1024, '\0');
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

// The value of the first header field `name` in a serialized head, if present.
inline std::optional<std::string> field(const std::string& head, const std::string& name) {
    const std::string key = "\r\n" + name + ": ";
    const size_t at = head.find(key);
    if (at == std::string::npos) return std::nullopt;
    const size_t start = at + key.size();
    return head.substr(start, head.find("\r\n", start) - start);
}

inline std::string status_line(const std::string& head) {
    return head.substr(0, head.find("\r\n"));
}

// A response as the HTTP/1 session would send it: the handler's Response, and its head
// serialized the way the session does (Connection decided by keep-alive, the handler's close
// and the HTTP version).
struct Served {
    int status = 0;
    std::string head;
    Response::BodyKind body_kind = Response::BodyKind::none;
    std::string_view memory;
    std::shared_ptr<const void> memory_owner;
    std::shared_ptr<const OpenFile> file;
    uint64_t file_offset = 0;
    uint64_t body_length = 0;
    bool close = false;  // the connection ends after it

    void take(const Response& r, bool keep_alive, bool http10) {
        const bool keep = keep_alive && !r.close;
        write_http1_head(r,
                         !keep    ? Http1Persistence::close
                         : http10 ? Http1Persistence::keep_announce
                                  : Http1Persistence::keep,
                         false, head);
        status = r.status();
        body_kind = r.body_kind;
        memory = r.memory;
        memory_owner = r.memory_owner;
        file = r.file;
        file_offset = r.file_offset;
        body_length = r.body_length;
        close = !keep;
    }
};

// The bytes the connection would send as the body.
inline std::string body_of(const Served& r) {
    switch (r.body_kind) {
        case Response::BodyKind::none:
            return {};
        case Response::BodyKind::memory:
            return std::string(r.memory.substr(0, r.body_length));
        case Response::BodyKind::file: {
            std::string s(r.body_length, '\0');
            const ssize_t n =
                pread(r.file->fd.get(), s.data(), s.size(), static_cast<off_t>(r.file_offset));
            if (n < 0) return "<pread failed>";
            s.resize(static_cast<size_t>(n));
            return s;
        }
    }
    return {};
}

class HandlerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        tree.write("www/index.html", "<h1>home</h1>");
        tree.write("www/hello.txt", "hello world");
        tree.set_mtime("www/hello.txt", kFileTime);
        tree.write("www/big.bin", big_content());
        tree.set_mtime("www/big.bin", kFileTime);
        tree.write("www/dir/index.html", "dir index");
        tree.write("www/dir/style.CSS", "body{}");
        tree.write("www/sp ace/index.html", "spaced");
        tree.mkdir("www/emptydir");
        tree.write("www/.hidden", "secret");
        tree.write("www/.git/config", "secret");
        tree.write("www/.well-known/acme", "token");
        tree.write("www/indexdir/index.html/x", "x");
        tree.write("www/empty.txt", "");
        tree.write("outside/secret.txt", "secret");
        tree.symlink("hello.txt", "www/link-in");
        tree.symlink(tree.path("outside/secret.txt"), "www/link-out");
        tree.symlink("../outside", "www/dirlink-out");
        tree.symlink("loop", "www/loop");
        tree.fifo("www/fifo");
        make_handler();
    }

    void make_handler(const std::string& server_name = "minid", FileCacheLimits limits = {}) {
        SiteConfig cfg;
        cfg.root = tree.path("www");
        cfg.server_name = server_name;
        auto h = StaticHandler::create(cfg, limits);
        ASSERT_TRUE(h.ok()) << h.error();
        handler = std::move(h.value());
    }

    struct Req {
        Method method = Method::get;
        std::string method_name = "GET";
        std::string target;
        uint8_t minor = 1;
        std::string if_none_match, if_modified_since, range, if_range;
    };

    static Req get(std::string target) {
        Req r;
        r.target = std::move(target);
        return r;
    }
    static Req head(std::string target) {
        Req r = get(std::move(target));
        r.method = Method::head;
        r.method_name = "HEAD";
        return r;
    }

    static Request to_request(const Req& r) {
        Request q;
        q.method = r.method;
        q.method_name = r.method_name;
        q.target = r.target;
        q.version_minor = r.minor;
        q.host = "localhost";
        q.if_none_match = r.if_none_match;
        q.if_modified_since = r.if_modified_since;
        q.range = r.range;
        q.if_range = r.if_range;
        return q;
    }

    Served& run(const Req& r, bool keep_alive = true, std::time_t now = kNow) {
        return serve(to_request(r), keep_alive, now);
    }

    // The handler answers `q`; the result is in `out`.
    Served& serve(const Request& q, bool keep_alive = true, std::time_t now = kNow) {
        handler->build(q, now, response);
        out.take(response, keep_alive, q.version_major == 1 && q.version_minor == 0);
        return out;
    }
    Served& serve_error(int status, std::time_t now = kNow) {
        handler->error(status, now, response);
        out.take(response, true, false);
        return out;
    }

    TempTree tree;
    std::unique_ptr<StaticHandler> handler;
    Response response;
    Served out;
};

}  // namespace minid::http::testing
