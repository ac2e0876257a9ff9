// Tests for the structured response head and its HTTP/1 serialization.
#include "worker/http/response_head.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "worker/http/http1_serializer.hpp"

namespace minid::http {
namespace {

std::string wire(const Response& r, Http1Persistence p = Http1Persistence::keep,
                 bool chunked = false) {
    std::string out = "stale";
    write_http1_head(r, p, chunked, out);
    return out;
}

TEST(ResponseHead, SerializesStatusLineFieldsAndEnd) {
    Response r;
    r.reset(206);
    r.head.field("Content-Type", "text/plain");
    r.head.field("Content-Length", uint64_t{18446744073709551615u});
    r.head.content_range(0, 9, 100);
    r.head.unsatisfied_range(7);
    EXPECT_EQ(wire(r),
              "HTTP/1.1 206 Partial Content\r\nContent-Type: text/plain\r\n"
              "Content-Length: 18446744073709551615\r\nContent-Range: bytes 0-9/100\r\n"
              "Content-Range: bytes */7\r\n\r\n");
}

TEST(ResponseHead, TheSerializerWritesConnectionAndChunkedItself) {
    Response r;
    r.reset(200);
    r.head.field("Server", "minid");
    EXPECT_EQ(wire(r, Http1Persistence::close),
              "HTTP/1.1 200 OK\r\nServer: minid\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(wire(r, Http1Persistence::keep_announce),
              "HTTP/1.1 200 OK\r\nServer: minid\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(wire(r, Http1Persistence::keep, true),
              "HTTP/1.1 200 OK\r\nServer: minid\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(ResponseHead, WalksFieldsAsPairsIncludingPreformattedLines) {
    Response r;
    r.reset(200);
    r.head.field("Date", "x");
    r.head.fields("Content-Type: text/plain\r\nETag: \"a:b\"\r\n");
    r.head.field("Content-Length", uint64_t{5});
    std::vector<std::pair<std::string, std::string>> seen;
    r.head.for_each([&](std::string_view n, std::string_view v) {
        seen.emplace_back(std::string(n), std::string(v));
    });
    const std::vector<std::pair<std::string, std::string>> expected{{"Date", "x"},
                                                                    {"Content-Type", "text/plain"},
                                                                    {"ETag", "\"a:b\""},
                                                                    {"Content-Length", "5"}};
    EXPECT_EQ(seen, expected);
    EXPECT_EQ(r.head.find("etag"), "\"a:b\"");
    EXPECT_EQ(r.head.find("Location"), "");
}

TEST(ResponseHead, KeepsCapacityAcrossResponses) {
    ResponseHead h;
    h.reset(200);
    h.field("Content-Type", "text/plain");
    const auto* buf = h.lines().data();
    h.reset(404);
    h.field("Content-Type", "text/html");
    EXPECT_EQ(h.status(), 404);
    EXPECT_EQ(h.lines(), "Content-Type: text/html\r\n");
    EXPECT_EQ(h.lines().data(), buf);
}

TEST(ResponseHead, EntityFieldsFormattedOnceAreTheSameBytesAsFieldByField) {
    constexpr std::string_view kExpected =
        "Content-Type: text/plain\r\nContent-Length: 13\r\n"
        "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: \"x-d\"\r\nAccept-Ranges: bytes\r\n";
    std::string kept = "stale";
    ResponseHead::format_entity_fields(kept, "text/plain", 13, "Sun, 06 Nov 1994 08:49:37 GMT",
                                       "\"x-d\"");
    EXPECT_EQ(kept, kExpected);

    ResponseHead a, b;
    a.reset(200);
    a.entity_fields("text/plain", 13, "Sun, 06 Nov 1994 08:49:37 GMT", "\"x-d\"");
    b.reset(200);
    b.fields(kept);
    EXPECT_EQ(a.lines(), b.lines());
    EXPECT_EQ(a.lines(), kExpected);
}

}  // namespace
}  // namespace minid::http
