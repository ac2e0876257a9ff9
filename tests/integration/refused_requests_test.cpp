// Requests refused before routing (malformed, too large, too slow) appear in the access log, and
// their reason in the error log at info level, rate-limited per worker.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST(RefusedRequests, AreInTheAccessLogAndTheirReasonInTheErrorLog) {
    Site site("", "max_header_size = 1k\nheader_timeout = 1s", 1);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port));

    const std::string raw_requests[] = {
        "GET /bad\x01target HTTP/1.1\r\nHost: a\r\n\r\n",                                  // 400
        "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(2000, 'x') + "\r\n\r\n",          // 431
        "GET / HTTP/3.0\r\nHost: a\r\n\r\n",                                               // 505
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  // 400
    };
    for (const std::string& raw : raw_requests) {
        Client c(site.port);
        ASSERT_TRUE(c.send(raw));
        std::string got;
        c.read_until_close(got, 5s);
        ASSERT_EQ(got.substr(0, 9), "HTTP/1.1 ") << got;
    }
    {
        Client slow(site.port);
        ASSERT_TRUE(slow.send("GET / HTTP/1.1\r\nHo"));  // the head never completes: 408
        std::string got;
        slow.read_until_close(got, 5s);
        EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 408") << got;
    }
    // The access log is written per batch; the refusal lines per request.
    ASSERT_TRUE(eventually([&] {
        const std::string access = read_file(site.dir.file("access.log"));
        return count(access, "\" 400 ") == 2 && count(access, "\" 431 ") == 1 &&
               count(access, "\" 505 ") == 1 && count(access, "\" 408 ") == 1;
    })) << read_file(site.dir.file("access.log"));
    const std::string access = read_file(site.dir.file("access.log"));
    EXPECT_NE(access.find("\"GET /hello.txt HTTP/1.1\" 400 "), std::string::npos) << access;
    const std::string errors = m.log();
    EXPECT_NE(
        errors.find("refused a request from 127.0.0.1 with 431: request header fields too large"),
        std::string::npos)
        << errors;
    EXPECT_NE(errors.find("with 408: request head did not arrive within header_timeout"),
              std::string::npos)
        << errors;
    m.signal(SIGTERM);
    m.wait_exit();
    EXPECT_TRUE(m.bad_log_lines().empty()) << m.log();
}

TEST(RefusedRequests, ErrorLogLinesAreRateLimited) {
    Site site("", "", 1);
    MinidProcess m;
    ASSERT_TRUE(m.start({"-c", site.config_path}, site.log_path));
    ASSERT_TRUE(m.wait_serving(site.port));
    // 40 refusals within well under a second: 10 lines, and a later one counts the rest.
    for (int i = 0; i < 40; ++i) {
        Client c(site.port);
        ASSERT_TRUE(c.send("BAD\r\n\r\n"));
        std::string got;
        c.read_until_close(got, 5s);
    }
    std::this_thread::sleep_for(1100ms);
    Client c(site.port);
    ASSERT_TRUE(c.send("BAD\r\n\r\n"));
    std::string got;
    c.read_until_close(got, 5s);
    ASSERT_TRUE(eventually([&] {
        return m.log().find("more such lines suppressed") != std::string::npos;
    })) << m.log();
    EXPECT_LE(count(m.log(), "refused a request from"), 12u) << m.log();
    m.signal(SIGTERM);
    m.wait_exit();
    EXPECT_EQ(count(read_file(site.dir.file("access.log")), "\" 400 "), 41u);
}

}  // namespace
}  // namespace minid::test
