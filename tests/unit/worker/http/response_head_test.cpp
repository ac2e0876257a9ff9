// Tests for response head serialisation.
#include "worker/http/response_head.hpp"

#include <gtest/gtest.h>

namespace minid::http {
namespace {

TEST(ResponseHead, WritesStatusLineFieldsAndEnd) {
    std::string out = "stale";
    ResponseHead h(out, 206);
    h.field("Content-Type", "text/plain");
    h.field("Content-Length", uint64_t{18446744073709551615u});
    h.content_range(0, 9, 100);
    h.unsatisfied_range(7);
    h.finish();
    EXPECT_EQ(out,
              "HTTP/1.1 206 Partial Content\r\nContent-Type: text/plain\r\n"
              "Content-Length: 18446744073709551615\r\nContent-Range: bytes 0-9/100\r\n"
              "Content-Range: bytes */7\r\n\r\n");
}

TEST(ResponseHead, KeepsCapacityAcrossResponses) {
    std::string out;
    { ResponseHead h(out, 200); }
    const auto* buf = out.data();
    const size_t cap = out.capacity();
    ResponseHead h(out, 404);
    h.finish();
    EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\n\r\n");
    EXPECT_EQ(out.data(), buf);
    EXPECT_EQ(out.capacity(), cap);
}

TEST(ResponseHead, EntityFieldsFormattedOnceAreTheSameBytesAsFieldByField) {
    constexpr std::string_view kExpected =
        "Content-Type: text/plain\r\nContent-Length: 13\r\n"
        "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: \"x-d\"\r\nAccept-Ranges: bytes\r\n";
    std::string kept = "stale";
    ResponseHead::format_entity_fields(kept, "text/plain", 13, "Sun, 06 Nov 1994 08:49:37 GMT",
                                       "\"x-d\"");
    EXPECT_EQ(kept, kExpected);

    std::string direct, appended;
    ResponseHead a(direct, 200);
    a.entity_fields("text/plain", 13, "Sun, 06 Nov 1994 08:49:37 GMT", "\"x-d\"");
    ResponseHead b(appended, 200);
    b.fields(kept);
    EXPECT_EQ(direct, appended);
    EXPECT_EQ(direct, std::string("HTTP/1.1 200 OK\r\n") + std::string(kExpected));
}

}  // namespace
}  // namespace minid::http
