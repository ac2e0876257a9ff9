// The real minid serving a temp site: every HTTP behaviour of the core issue, over raw sockets
// and curl. One server is shared by the suite (started once) to keep the suite fast.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

class StaticServing : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        site_ = new Site("", "header_timeout = 1s\nmax_header_size = 2k\nmax_body_size = 1k\n", 2);
        site_->dir.write("www/dir/index.html", "dir index");
        site_->dir.write("www/nodir/readme.txt", "no index here");
        site_->dir.write("www/space name.txt", "spaced");
        site_->dir.write("www/.secret", "hidden");
        site_->dir.write("www/.well-known/acme.txt", "token");
        site_->dir.write("www/style.css", "body{}");
        site_->dir.write("www/big.bin", std::string(3 * 1024 * 1024, 'x'));
        site_->dir.write("outside.txt", "outside the root");
        ::symlink((site_->dir.path() + "/outside.txt").c_str(),
                  site_->dir.file("www/escape").c_str());
        ::symlink("hello.txt", site_->dir.file("www/inside-link").c_str());
        server_ = new MinidProcess();
        ASSERT_TRUE(server_->start({"-c", site_->config_path}, site_->log_path));
        ASSERT_TRUE(server_->wait_serving(site_->port)) << server_->log();
    }
    static void TearDownTestSuite() {
        server_->signal(SIGTERM);
        int st = server_->wait_exit();
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << "\n" << server_->log();
        EXPECT_TRUE(server_->bad_log_lines().empty()) << server_->log();
        delete server_;
        delete site_;
    }
    static uint16_t port() { return site_->port; }
    static HttpResponse get(const std::string& target, const std::string& headers = "",
                            const std::string& method = "GET") {
        auto r = http_get(port(), target, headers, method);
        EXPECT_TRUE(r.has_value()) << target;
        return r.value_or(HttpResponse{});
    }
    static Site* site_;
    static MinidProcess* server_;
};
Site* StaticServing::site_ = nullptr;
MinidProcess* StaticServing::server_ = nullptr;

TEST_F(StaticServing, GetServesFileWithHeaders) {
    auto r = get("/hello.txt");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "Hello, world!");
    EXPECT_EQ(r.header("content-length"), "13");
    EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
    EXPECT_TRUE(r.has("date"));
    EXPECT_TRUE(r.has("last-modified"));
    EXPECT_TRUE(r.has("etag"));
    EXPECT_EQ(r.header("server"), "minid");
    EXPECT_EQ(get("/style.css").header("content-type"), "text/css; charset=utf-8");
}

TEST_F(StaticServing, HeadHasHeadersButNoBody) {
    Client c(port());
    c.send("HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_responses(1, 5s, true);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].header("content-length"), "13");
    // The next response starts right after the HEAD response's head: no body was sent.
    auto r2 = c.read_responses(1);
    ASSERT_EQ(r2.size(), 1u);
    EXPECT_EQ(r2[0].body, "Hello, world!");
}

TEST_F(StaticServing, KeepAliveAndPipeliningAnswerInOrder) {
    Client c(port());
    std::string reqs;
    const char* paths[] = {"/hello.txt", "/dir/", "/missing", "/style.css", "/hello.txt"};
    for (const char* p : paths) reqs += std::string("GET ") + p + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(c.send(reqs));
    auto r = c.read_responses(5);
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(r[0].body, "Hello, world!");
    EXPECT_EQ(r[1].body, "dir index");
    EXPECT_EQ(r[2].status, 404);
    EXPECT_EQ(r[3].body, "body{}");
    EXPECT_EQ(r[4].body, "Hello, world!");
    // Still open for more.
    ASSERT_TRUE(c.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(c.read_responses(1).size(), 1u);
}

TEST_F(StaticServing, RequestSplitIntoManySmallWrites) {
    Client c(port());
    const std::string req = "GET /hello.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n\r\n";
    for (char ch : req) {
        ASSERT_TRUE(c.send(std::string(1, ch)));
        usleep(500);
    }
    auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].body, "Hello, world!");
}

TEST_F(StaticServing, Http10ClosesUnlessKeepAliveAsked) {
    {
        Client c(port());
        c.send("GET /hello.txt HTTP/1.0\r\n\r\n");
        std::string all;
        EXPECT_TRUE(c.read_until_close(all));
        EXPECT_NE(all.find("Hello, world!"), std::string::npos);
    }
    {
        Client c(port());
        c.send("GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        auto r = c.read_responses(1);
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].header("connection"), "keep-alive");
        EXPECT_FALSE(c.closed_by_peer(300ms));
    }
}

TEST_F(StaticServing, ConnectionCloseIsHonoured) {
    Client c(port());
    c.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string all;
    EXPECT_TRUE(c.read_until_close(all));
    EXPECT_NE(all.find("Connection: close"), std::string::npos);
}

TEST_F(StaticServing, ConditionalRequests) {
    auto r = get("/hello.txt");
    const std::string etag = r.header("etag");
    const std::string lm = r.header("last-modified");
    ASSERT_FALSE(etag.empty());
    auto r304 = get("/hello.txt", "If-None-Match: " + etag + "\r\n");
    EXPECT_EQ(r304.status, 304);
    EXPECT_TRUE(r304.body.empty());
    EXPECT_EQ(get("/hello.txt", "If-None-Match: \"nope\"\r\n").status, 200);
    EXPECT_EQ(get("/hello.txt", "If-Modified-Since: " + lm + "\r\n").status, 304);
    EXPECT_EQ(get("/hello.txt", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n").status,
              200);
}

TEST_F(StaticServing, Ranges) {
    auto r = get("/hello.txt", "Range: bytes=0-4\r\n");
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "Hello");
    EXPECT_EQ(r.header("content-range"), "bytes 0-4/13");
    r = get("/hello.txt", "Range: bytes=-6\r\n");
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "world!");
    r = get("/hello.txt", "Range: bytes=100-\r\n");
    EXPECT_EQ(r.status, 416);
    EXPECT_EQ(r.header("content-range"), "bytes */13");
    r = get("/big.bin", "Range: bytes=1048576-1048585\r\n");
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, std::string(10, 'x'));
}

TEST_F(StaticServing, DirectoriesIndexAndRedirect) {
    EXPECT_EQ(get("/").body, "<h1>hello</h1>\n");
    EXPECT_EQ(get("/dir/").body, "dir index");
    auto r = get("/dir?x=1");
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("location"), "/dir/?x=1");
    EXPECT_EQ(get("/nodir/").status, 404);
}

TEST_F(StaticServing, PercentDecodingQueryAndAbsoluteForm) {
    EXPECT_EQ(get("/space%20name.txt").body, "spaced");
    EXPECT_EQ(get("/hello.txt?cache=bust").body, "Hello, world!");
    EXPECT_EQ(get("http://localhost/hello.txt").body, "Hello, world!");
    EXPECT_EQ(get("/%68ello.txt").body, "Hello, world!");
}

TEST_F(StaticServing, NoWayOutOfTheRoot) {
    for (const char* t :
         {"/../outside.txt", "/%2e%2e/outside.txt", "/dir/%2e%2e/%2e%2e/outside.txt",
          "/%2e%2e%2foutside.txt", "/..%2foutside.txt", "/escape", "/hello.txt%00",
          "/dir/..%5c..%5coutside.txt"}) {
        auto r = get(t);
        EXPECT_NE(r.status, 200) << t;
        EXPECT_EQ(r.body.find("outside the root"), std::string::npos) << t;
    }
    EXPECT_EQ(get("/inside-link").body, "Hello, world!");
}

TEST_F(StaticServing, DotfilesHiddenExceptWellKnown) {
    EXPECT_EQ(get("/.secret").status / 100, 4);
    EXPECT_EQ(get("/.well-known/acme.txt").body, "token");
}

TEST_F(StaticServing, ErrorStatuses) {
    EXPECT_EQ(get("/missing").status, 404);
    auto r = get("/hello.txt", "", "DELETE");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.header("allow"), "GET, HEAD");
    {
        Client c(port());
        c.send("GET /hello.txt HTTP/1.1\r\n\r\n");  // no Host
        auto rs = c.read_responses(1);
        ASSERT_EQ(rs.size(), 1u);
        EXPECT_EQ(rs[0].status, 400);
        EXPECT_TRUE(c.closed_by_peer());
    }
    {
        Client c(port());
        c.send("GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
        auto rs = c.read_responses(1);
        ASSERT_EQ(rs.size(), 1u);
        EXPECT_EQ(rs[0].status, 400);
    }
    {
        Client c(port());
        c.send("GET /hello.txt HTTP/2.0\r\nHost: a\r\n\r\n");
        auto rs = c.read_responses(1);
        ASSERT_EQ(rs.size(), 1u);
        EXPECT_EQ(rs[0].status, 505);
    }
    {
        Client c(port());
        c.send("GARBAGE\r\n\r\n");
        auto rs = c.read_responses(1);
        ASSERT_EQ(rs.size(), 1u);
        EXPECT_EQ(rs[0].status, 400);
        EXPECT_TRUE(c.closed_by_peer());
    }
}

TEST_F(StaticServing, Limits) {
    EXPECT_EQ(get("/" + std::string(3000, 'a')).status, 414);
    EXPECT_EQ(get("/hello.txt", "X-Big: " + std::string(3000, 'b') + "\r\n").status, 431);
    Client c(port());
    c.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    auto rs = c.read_responses(1);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].status, 413);
}

TEST_F(StaticServing, BodyOnGetIsDiscardedBeforeTheNextRequest) {
    Client c(port());
    c.send(
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 23\r\n\r\nGET /missing HTTP/1.1\r\n"
        "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_responses(2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].body, "Hello, world!");
    EXPECT_EQ(r[1].body, "body{}");
}

TEST_F(StaticServing, RequestHeaderTimeoutAnswers408) {
    Client c(port());
    c.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n");  // never finished
    auto r = c.read_responses(1, 4s);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 408);
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(StaticServing, LargeFileArrivesWhole) {
    auto r = get("/big.bin");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), 3u * 1024 * 1024);
    EXPECT_EQ(r.body.find_first_not_of('x'), std::string::npos);
}

TEST_F(StaticServing, CurlAgrees) {
    auto out = run_command("curl -sS -i --max-time 5 http://127.0.0.1:" + std::to_string(port()) +
                           "/hello.txt");
    ASSERT_EQ(out.exit_code, 0) << out.output;
    EXPECT_NE(out.output.find("HTTP/1.1 200 OK"), std::string::npos);
    EXPECT_NE(out.output.find("Hello, world!"), std::string::npos);
    out = run_command(
        "curl -sS --max-time 5 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}' "
        "http://127.0.0.1:" +
        std::to_string(port()) + "/hello.txt http://127.0.0.1:" + std::to_string(port()) +
        "/style.css");
    EXPECT_EQ(out.output, "200 1200 0") << "second request reuses the connection";
}

TEST_F(StaticServing, AccessLogHasCombinedFormatLines) {
    get("/hello.txt", "User-Agent: tester/1.0\r\nReferer: http://ref/\r\n");
    ASSERT_TRUE(eventually(
        [&] {
            return read_file(site_->dir.file("access.log")).find("tester/1.0") != std::string::npos;
        },
        3s));
    std::string log = read_file(site_->dir.file("access.log"));
    auto pos = log.find("\"GET /hello.txt HTTP/1.1\" 200 13 \"http://ref/\" \"tester/1.0\"");
    EXPECT_NE(pos, std::string::npos) << log;
    EXPECT_EQ(log.rfind("127.0.0.1 - - [", pos), log.rfind('\n', pos) + 1);
}

}  // namespace
}  // namespace minid::test
