// End-to-end tests for StaticHandler on a temporary document root: statuses, headers, bodies,
// conditionals, ranges, connection handling and cache revalidation.
#include "worker/http/static_handler.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/resource.h>

#include <vector>

#include "common/unique_fd.hpp"

#include "tests/unit/worker/http/handler_fixture.hpp"
#include "worker/http/etag.hpp"
#include "worker/http/http_date.hpp"
#include "worker/http/request_parser.hpp"

namespace minid::http {
namespace {

using testing::body_of;
using testing::field;
using testing::HandlerTest;
using testing::kFileTime;
using testing::kNow;
using testing::Served;
using testing::status_line;

const std::string kHelloEtag = make_etag(kFileTime, 11);

TEST_F(HandlerTest, SmallFileIsServedFromMemory) {
    const Served& r = run(get("/hello.txt"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(status_line(r.head), "HTTP/1.1 200 OK");
    EXPECT_EQ(field(r.head, "Server"), "minid");
    EXPECT_EQ(field(r.head, "Date"), "Tue, 14 Nov 2023 22:13:20 GMT");
    EXPECT_EQ(field(r.head, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(field(r.head, "Content-Length"), "11");
    EXPECT_EQ(field(r.head, "Last-Modified"), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(field(r.head, "ETag"), "\"2ebc98a1-b\"");
    EXPECT_EQ(field(r.head, "Accept-Ranges"), "bytes");
    EXPECT_EQ(field(r.head, "Connection"), std::nullopt);
    EXPECT_EQ(r.head.substr(r.head.size() - 4), "\r\n\r\n");
    EXPECT_EQ(r.body_kind, Response::BodyKind::memory);
    EXPECT_NE(r.memory_owner, nullptr);
    EXPECT_EQ(body_of(r), "hello world");
    EXPECT_FALSE(r.close);
}

TEST_F(HandlerTest, LargeFileIsSentFromItsFd) {
    const Served& r = run(get("/big.bin"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(field(r.head, "Content-Type"), "application/octet-stream");
    EXPECT_EQ(field(r.head, "Content-Length"), std::to_string(100 * 1024));
    ASSERT_EQ(r.body_kind, Response::BodyKind::file);
    ASSERT_NE(r.file, nullptr);
    EXPECT_EQ(r.file->size, 100u * 1024);
    EXPECT_EQ(r.file_offset, 0u);
    EXPECT_EQ(r.body_length, 100u * 1024);
    EXPECT_EQ(body_of(r), testing::big_content());
}

TEST_F(HandlerTest, EmptyFileHasNoBody) {
    const Served& r = run(get("/empty.txt"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(field(r.head, "Content-Length"), "0");
    EXPECT_EQ(r.body_kind, Response::BodyKind::none);
}

TEST_F(HandlerTest, HeadHasGetHeadersAndNoBody) {
    const std::string get_head = run(get("/big.bin")).head;
    const Served& r = run(head("/big.bin"));
    EXPECT_EQ(r.head, get_head);
    EXPECT_EQ(r.body_kind, Response::BodyKind::none);
    EXPECT_EQ(r.body_length, 0u);
    EXPECT_EQ(run(head("/missing")).status, 404);
    EXPECT_EQ(out.body_kind, Response::BodyKind::none);
    EXPECT_EQ(field(out.head, "Content-Length"), std::to_string(body_of(run(get("/x"))).size()));
}

TEST_F(HandlerTest, DirectoriesServeTheirIndex) {
    Served& r = run(get("/"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(field(r.head, "Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(body_of(r), "<h1>home</h1>");
    EXPECT_EQ(body_of(run(get("/dir/"))), "dir index");
    EXPECT_EQ(body_of(run(get("/dir/./"))), "dir index");
    EXPECT_EQ(body_of(run(get("/dir/../dir/"))), "dir index");
    EXPECT_EQ(body_of(run(get("http://example.com"))), "<h1>home</h1>");
    EXPECT_EQ(field(run(get("/dir/style.CSS")).head, "Content-Type"), "text/css; charset=utf-8");
}

TEST_F(HandlerTest, DirectoryWithoutSlashRedirects) {
    Served& r = run(get("/dir"));
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(status_line(r.head), "HTTP/1.1 301 Moved Permanently");
    EXPECT_EQ(field(r.head, "Location"), "/dir/");
    EXPECT_EQ(field(r.head, "Content-Length"), std::to_string(body_of(r).size()));
    EXPECT_FALSE(r.close);
    EXPECT_EQ(field(run(get("/dir?a=1&b")).head, "Location"), "/dir/?a=1&b");
    EXPECT_EQ(field(run(get("/sp%20ace")).head, "Location"), "/sp%20ace/");
    EXPECT_EQ(field(run(get("http://h/x/../dir")).head, "Location"), "/dir/");
    // "//dir" must not become a protocol-relative "//dir/".
    EXPECT_EQ(field(run(get("//dir")).head, "Location"), "/dir/");
}

TEST_F(HandlerTest, NotFoundCases) {
    for (const char* t :
         {"/missing", "/emptydir/", "/hello.txt/", "/.hidden", "/.git/config", "/%2egit/config",
          "/link-out", "/dirlink-out/secret.txt", "/dir/missing/"}) {
        const Served& r = run(get(t));
        EXPECT_EQ(r.status, 404) << t;
        EXPECT_EQ(field(r.head, "Content-Type"), "text/html; charset=utf-8") << t;
        EXPECT_NE(body_of(r).find("404 Not Found"), std::string::npos) << t;
        EXPECT_FALSE(r.close) << t;
    }
}

TEST_F(HandlerTest, ForbiddenCases) {
    for (const char* t : {"/loop", "/fifo", "/indexdir/"}) {
        EXPECT_EQ(run(get(t)).status, 403) << t;
    }
}

TEST_F(HandlerTest, BadTargets) {
    for (const char* t : {"/../hello.txt", "/%2e%2e/www/hello.txt", "/a/%2e%2e/%2e%2e/x", "/%2f..",
                          "/%00", "*", "relative", "/%zz"}) {
        EXPECT_EQ(run(get(t)).status, 400) << t;
    }
}

TEST_F(HandlerTest, SymlinkInsideAndWellKnown) {
    EXPECT_EQ(body_of(run(get("/link-in"))), "hello world");
    EXPECT_EQ(body_of(run(get("/.well-known/acme"))), "token");
}

TEST_F(HandlerTest, OtherMethodsAre405) {
    Req r = get("/hello.txt");
    r.method = Method::other;
    r.method_name = "POST";
    const Served& resp = run(r);
    EXPECT_EQ(resp.status, 405);
    EXPECT_EQ(field(resp.head, "Allow"), "GET, HEAD");
    EXPECT_FALSE(resp.close);
    r.method_name = "OPTIONS";
    r.target = "*";
    EXPECT_EQ(run(r).status, 405);
}

TEST_F(HandlerTest, IfNoneMatchGives304) {
    for (const std::string inm :
         {kHelloEtag, "W/" + kHelloEtag, "\"x\", " + kHelloEtag, std::string("*")}) {
        Req r = get("/hello.txt");
        r.if_none_match = inm;
        const Served& resp = run(r);
        EXPECT_EQ(resp.status, 304) << inm;
        EXPECT_EQ(status_line(resp.head), "HTTP/1.1 304 Not Modified");
        EXPECT_EQ(field(resp.head, "ETag"), kHelloEtag);
        EXPECT_EQ(field(resp.head, "Last-Modified"), "Sun, 06 Nov 1994 08:49:37 GMT");
        EXPECT_TRUE(field(resp.head, "Date").has_value());
        EXPECT_EQ(field(resp.head, "Content-Length"), std::nullopt);
        EXPECT_EQ(resp.body_kind, Response::BodyKind::none);
    }
    Req h = head("/hello.txt");
    h.if_none_match = kHelloEtag;
    EXPECT_EQ(run(h).status, 304);
    Req other = get("/hello.txt");
    other.if_none_match = "\"nope\"";
    other.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
    EXPECT_EQ(run(other).status, 200);
}

TEST_F(HandlerTest, IfModifiedSinceGives304) {
    Req r = get("/hello.txt");
    r.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
    EXPECT_EQ(run(r).status, 304);
    r.if_modified_since = "Sunday, 06-Nov-94 08:49:37 GMT";
    EXPECT_EQ(run(r).status, 304);
    r.if_modified_since = "Sun Nov  6 08:49:37 1994";
    EXPECT_EQ(run(r).status, 304);
    r.if_modified_since = "Sun, 06 Nov 1994 08:49:36 GMT";
    EXPECT_EQ(run(r).status, 200);
    r.if_modified_since = "not a date";
    EXPECT_EQ(run(r).status, 200);
}

TEST_F(HandlerTest, SingleRangeGives206) {
    Req r = get("/hello.txt");
    r.range = "bytes=0-4";
    Served& resp = run(r);
    EXPECT_EQ(resp.status, 206);
    EXPECT_EQ(status_line(resp.head), "HTTP/1.1 206 Partial Content");
    EXPECT_EQ(field(resp.head, "Content-Range"), "bytes 0-4/11");
    EXPECT_EQ(field(resp.head, "Content-Length"), "5");
    EXPECT_EQ(field(resp.head, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(field(resp.head, "Last-Modified"), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(field(resp.head, "ETag"), kHelloEtag);
    EXPECT_EQ(field(resp.head, "Accept-Ranges"), "bytes");
    EXPECT_EQ(body_of(resp), "hello");
    r.range = "bytes=-5";
    EXPECT_EQ(body_of(run(r)), "world");
    r.range = "bytes=6-";
    EXPECT_EQ(body_of(run(r)), "world");
    EXPECT_EQ(field(out.head, "Content-Range"), "bytes 6-10/11");

    Req big = get("/big.bin");
    big.range = "bytes=70000-70009";
    Served& b = run(big);
    EXPECT_EQ(b.status, 206);
    ASSERT_EQ(b.body_kind, Response::BodyKind::file);
    EXPECT_EQ(b.file_offset, 70000u);
    EXPECT_EQ(b.body_length, 10u);
    EXPECT_EQ(body_of(b), testing::big_content().substr(70000, 10));
}

TEST_F(HandlerTest, UnsatisfiableRangeGives416) {
    Req r = get("/hello.txt");
    r.range = "bytes=11-";
    const Served& resp = run(r);
    EXPECT_EQ(resp.status, 416);
    EXPECT_EQ(field(resp.head, "Content-Range"), "bytes */11");
    EXPECT_EQ(field(resp.head, "Content-Type"), "text/html; charset=utf-8");
    EXPECT_FALSE(resp.close);
}

TEST_F(HandlerTest, RangesThatAreIgnored) {
    Req r = get("/hello.txt");
    for (const char* range : {"bytes=0-1,3-4", "bytes=x-y", "lines=1-2", "bytes=5-2"}) {
        r.range = range;
        EXPECT_EQ(run(r).status, 200) << range;
        EXPECT_EQ(body_of(out), "hello world") << range;
    }
    Req h = head("/hello.txt");
    h.range = "bytes=0-4";
    EXPECT_EQ(run(h).status, 200);
    EXPECT_EQ(field(out.head, "Content-Length"), "11");
}

TEST_F(HandlerTest, IfRange) {
    Req r = get("/hello.txt");
    r.range = "bytes=0-4";
    r.if_range = kHelloEtag;
    EXPECT_EQ(run(r).status, 206);
    r.if_range = "Sun, 06 Nov 1994 08:49:37 GMT";
    EXPECT_EQ(run(r).status, 206);
    r.if_range = "\"stale\"";
    EXPECT_EQ(run(r).status, 200);
    r.if_range = "W/" + kHelloEtag;
    EXPECT_EQ(run(r).status, 200);
    r.if_range = "Sun, 06 Nov 1994 08:49:38 GMT";
    EXPECT_EQ(run(r).status, 200);
}

TEST_F(HandlerTest, ConnectionHeader) {
    Served& r = run(get("/hello.txt"), false);
    EXPECT_TRUE(r.close);
    EXPECT_EQ(field(r.head, "Connection"), "close");
    Req old = get("/hello.txt");
    old.minor = 0;
    EXPECT_EQ(field(run(old, true).head, "Connection"), "keep-alive");
    EXPECT_FALSE(out.close);
    EXPECT_EQ(field(run(old, false).head, "Connection"), "close");
    EXPECT_TRUE(out.close);
    EXPECT_EQ(field(run(get("/missing"), false).head, "Connection"), "close");
}

TEST_F(HandlerTest, ExpectContinueWithABodyCloses) {
    Req post = get("/hello.txt");
    post.method = Method::other;
    post.method_name = "POST";
    Request r = to_request(post);
    r.has_body = true;
    const Header expect[] = {{"Host", "a"}, {"Expect", "100-Continue"}};
    r.headers = expect;
    r.header_count = 2;
    r.expect_continue = true;
    serve(r, true, kNow);
    EXPECT_EQ(out.status, 405);
    EXPECT_TRUE(out.close);
    EXPECT_EQ(field(out.head, "Connection"), "close");
    r.header_count = 1;  // the same request without Expect: the body will come, keep going
    r.expect_continue = false;
    serve(r, true, kNow);
    EXPECT_FALSE(out.close);
}

TEST_F(HandlerTest, ErrorAlwaysCloses) {
    for (int status : {400, 408, 413, 414, 431, 500, 501, 503, 505}) {
        serve_error(status);
        EXPECT_EQ(out.status, status);
        EXPECT_TRUE(out.close) << status;
        EXPECT_EQ(field(out.head, "Connection"), "close") << status;
        EXPECT_EQ(field(out.head, "Content-Type"), "text/html; charset=utf-8");
        EXPECT_EQ(field(out.head, "Content-Length"), std::to_string(body_of(out).size()));
        EXPECT_NE(body_of(out).find(std::to_string(status)), std::string::npos);
        EXPECT_EQ(out.head.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0), 0u);
    }
}

TEST_F(HandlerTest, EmptyServerNameOmitsTheHeader) {
    make_handler("");
    EXPECT_EQ(field(run(get("/hello.txt")).head, "Server"), std::nullopt);
    serve_error(400);
    EXPECT_EQ(field(out.head, "Server"), std::nullopt);
}

TEST_F(HandlerTest, ChangedFileIsSeenInTheNextSecond) {
    EXPECT_EQ(body_of(run(get("/hello.txt"))), "hello world");
    tree.write("www/hello.txt", "changed, and longer");
    // Within the second the cached answer stands, and stays self-consistent.
    Served& same = run(get("/hello.txt"));
    EXPECT_EQ(field(same.head, "Content-Length"), std::to_string(body_of(same).size()));
    Served& next = run(get("/hello.txt"), true, kNow + 1);
    EXPECT_EQ(body_of(next), "changed, and longer");
    EXPECT_EQ(field(next.head, "Content-Length"), "19");
    EXPECT_NE(field(next.head, "ETag"), kHelloEtag);
}

TEST_F(HandlerTest, LargeFileChangeUpdatesLengthAndFd) {
    const Served first = run(get("/big.bin"));
    ASSERT_EQ(first.body_kind, Response::BodyKind::file);
    tree.write("www/big.bin", testing::big_content() + "tail");
    const Served& r = run(get("/big.bin"), true, kNow + 1);
    EXPECT_EQ(field(r.head, "Content-Length"), std::to_string(100 * 1024 + 4));
    EXPECT_EQ(r.file->size, 100u * 1024 + 4);
    EXPECT_EQ(body_of(r).substr(100 * 1024), "tail");
}

TEST_F(HandlerTest, ReplacedFileIsSeenEvenWithSameSizeAndTime) {
    EXPECT_EQ(body_of(run(get("/hello.txt"))), "hello world");
    tree.write("www/new.txt", "HELLO WORLD");
    tree.set_mtime("www/new.txt", kFileTime);
    ASSERT_EQ(::rename(tree.path("www/new.txt").c_str(), tree.path("www/hello.txt").c_str()), 0);
    EXPECT_EQ(body_of(run(get("/hello.txt"), true, kNow + 1)), "HELLO WORLD");
}

TEST_F(HandlerTest, DeletedOrRetypedFilesAreNotServedFromCache) {
    EXPECT_EQ(run(get("/hello.txt")).status, 200);
    ASSERT_EQ(::unlink(tree.path("www/hello.txt").c_str()), 0);
    EXPECT_EQ(run(get("/hello.txt"), true, kNow + 1).status, 404);
    tree.write("www/hello.txt/index.html", "now a directory");
    EXPECT_EQ(run(get("/hello.txt"), true, kNow + 2).status, 301);
    EXPECT_EQ(body_of(run(get("/hello.txt/"), true, kNow + 2)), "now a directory");
}

// Fills the process's descriptor table (under a lowered soft limit) for its lifetime.
class FdTableFull {
  public:
    FdTableFull() {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        rlimit low = saved_;
        low.rlim_cur = 256;
        ::setrlimit(RLIMIT_NOFILE, &low);
        for (;;) {
            UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            if (!fd) break;
            fds_.push_back(std::move(fd));
        }
        full_ = errno == EMFILE;
    }
    ~FdTableFull() {
        fds_.clear();
        ::setrlimit(RLIMIT_NOFILE, &saved_);
    }
    bool full() const { return full_; }

  private:
    rlimit saved_{};
    std::vector<UniqueFd> fds_;
    bool full_ = false;
};

TEST_F(HandlerTest, OutOfDescriptorsServesCachedFilesAndAnswers503ForOthers) {
    ASSERT_EQ(body_of(run(get("/hello.txt"))), "hello world");
    {
        FdTableFull full;
        ASSERT_TRUE(full.full());
        // Not rechecked this second, but the cached answer beats an error.
        Served& cached = run(get("/hello.txt"), true, kNow + 1);
        EXPECT_EQ(cached.status, 200);
        EXPECT_EQ(body_of(cached), "hello world");
        EXPECT_EQ(run(get("/dir/"), true, kNow + 1).status, 503);
    }
    EXPECT_EQ(body_of(run(get("/dir/"), true, kNow + 2)), "dir index");
}

TEST_F(HandlerTest, ResponsesOutliveCacheEviction) {
    FileCacheLimits tiny;
    tiny.max_entries = 1;
    make_handler("minid", tiny);
    const Req big_req = get("/big.bin"), small_req = get("/hello.txt"), index = get("/index.html");
    const Served big = serve(to_request(big_req), true, kNow);
    const Served small = serve(to_request(small_req), true, kNow);
    serve(to_request(index), true, kNow);
    // Both earlier entries were evicted; their bodies must still be readable.
    EXPECT_EQ(body_of(big), testing::big_content());
    EXPECT_EQ(body_of(small), "hello world");
    EXPECT_EQ(body_of(out), "<h1>home</h1>");
}

TEST_F(HandlerTest, WorksBehindTheParser) {
    const std::string wire =
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /dir HTTP/1.1\r\nHost: a\r\n\r\n"
        "HEAD /big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    RequestParser parser({});
    std::vector<std::string> statuses;
    size_t pos = 0;
    for (;;) {
        const auto o = parser.execute(wire.data() + pos, wire.size() - pos);
        pos += o.consumed;
        if (o.event == RequestParser::Event::head) {
            serve(parser.request(), parser.request().keep_alive, kNow);
            statuses.push_back(status_line(out.head) + (out.close ? " close" : ""));
        } else if (o.event != RequestParser::Event::message_complete) {
            break;
        }
    }
    EXPECT_EQ(statuses,
              (std::vector<std::string>{"HTTP/1.1 200 OK", "HTTP/1.1 301 Moved Permanently",
                                        "HTTP/1.1 200 OK close"}));
}

TEST(StaticHandlerCreate, ReportsUnusableConfig) {
    SiteConfig cfg;
    cfg.root = "/nonexistent/minid-root";
    auto r = StaticHandler::create(cfg);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "open(/nonexistent/minid-root) failed: No such file or directory");
    cfg.root = "/tmp";
    cfg.index = "a/b.html";
    EXPECT_FALSE(StaticHandler::create(cfg).ok());
    cfg.index = "index.html";
    cfg.root = "";
    EXPECT_FALSE(StaticHandler::create(cfg).ok());
}

}  // namespace
}  // namespace minid::http
