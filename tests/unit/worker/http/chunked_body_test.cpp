// Tests for ChunkedBody: strict framing, split input, limits and where the body ends.
#include "worker/http/chunked_body.hpp"

#include <gtest/gtest.h>

#include <string>

namespace minid::http {
namespace {

struct Fed {
    ChunkedBody::Status status;
    size_t consumed;  // total over all pieces
    int error_status;
};

Fed feed(const std::string& in, size_t step, uint64_t max_body = 1 << 20,
         uint64_t max_trailer = 1024) {
    ChunkedBody body;
    body.reset(max_body, max_trailer);
    size_t pos = 0;
    for (;;) {
        const size_t n = std::min(step, in.size() - pos);
        size_t used = 0;
        const auto st = body.feed(in.data() + pos, n, &used);
        EXPECT_LE(used, n);
        if (st != ChunkedBody::Status::need_more) {
            return {st, pos + used, st == ChunkedBody::Status::error ? body.error_status() : 0};
        }
        EXPECT_EQ(used, n);
        pos += used;
        if (pos == in.size()) return {st, pos, 0};
    }
}

TEST(ChunkedBody, StopsRightAfterTheLastChunkAtAnySplit) {
    const std::string body = "4\r\nWiki\r\n5;a=b;c=\"d;e\"\r\npedia\r\n0\r\nX-T: v\r\n\r\n";
    for (size_t step = 1; step <= body.size(); ++step) {
        const Fed f = feed(body + "NEXT", step);
        EXPECT_EQ(f.status, ChunkedBody::Status::done) << step;
        EXPECT_EQ(f.consumed, body.size()) << step;
    }
}

TEST(ChunkedBody, CountsTheBodySize) {
    ChunkedBody b;
    b.reset(100, 100);
    const std::string in = "A\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n";
    size_t used = 0;
    ASSERT_EQ(b.feed(in.data(), in.size(), &used), ChunkedBody::Status::done);
    EXPECT_EQ(b.body_size(), 11u);
}

TEST(ChunkedBody, NeedsMoreUntilTheFinalEmptyLine) {
    EXPECT_EQ(feed("0\r\n", 100).status, ChunkedBody::Status::need_more);
    EXPECT_EQ(feed("0\r\n\r", 100).status, ChunkedBody::Status::need_more);
    EXPECT_EQ(feed("3\r\nab", 100).status, ChunkedBody::Status::need_more);
}

TEST(ChunkedBody, MalformedFramingIs400) {
    for (const char* bad :
         {"\r\n", "g\r\n", "3\nabc\r\n0\r\n\r\n", "3\r\nabc\n0\r\n\r\n", "3\r\nabcd\r\n",
          "3 \r\nabc\r\n", "3;\x01\r\n", "3;\"a\x7f\"\r\n", "0\r\n\n", "0\r\n: v\r\n\r\n",
          "0\r\nX v\r\n\r\n", "0\r\nX: \x01\r\n\r\n", "0\r\nX: a\r\n b\r\n\r\n",
          "11111111111111111\r\n"}) {
        const Fed f = feed(bad, 1);
        EXPECT_EQ(f.status, ChunkedBody::Status::error) << bad;
        EXPECT_EQ(f.error_status, 400) << bad;
    }
}

TEST(ChunkedBody, BodyLimit) {
    EXPECT_EQ(feed("5\r\n01234\r\n0\r\n\r\n", 3, 5).status, ChunkedBody::Status::done);
    const Fed f = feed("5\r\n01234\r\n1\r\nx\r\n0\r\n\r\n", 3, 5);
    EXPECT_EQ(f.error_status, 413);
    EXPECT_EQ(feed("ffffffffffffffff\r\n", 3, UINT64_MAX - 1).error_status, 413);
}

TEST(ChunkedBody, TrailerLimit) {
    EXPECT_EQ(feed("0\r\nX: " + std::string(50, 'v') + "\r\n\r\n", 7, 100, 40).error_status, 431);
    EXPECT_EQ(feed("0\r\nX: v\r\n\r\n", 7, 100, 40).status, ChunkedBody::Status::done);
}

TEST(ChunkedBody, ErrorIsSticky) {
    ChunkedBody b;
    b.reset(10, 10);
    size_t used = 0;
    ASSERT_EQ(b.feed("z", 1, &used), ChunkedBody::Status::error);
    EXPECT_EQ(b.feed("0\r\n\r\n", 5, &used), ChunkedBody::Status::error);
}

}  // namespace
}  // namespace minid::http
