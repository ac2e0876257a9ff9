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

}  // namespace
}  // namespace minid::http
