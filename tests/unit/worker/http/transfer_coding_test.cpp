// Tests for the Transfer-Encoding verdict.
#include "worker/http/transfer_coding.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace minid::http {
namespace {

int verdict(std::vector<Header> h) {
    return check_transfer_codings(h.data(), static_cast<uint32_t>(h.size())).status;
}

TEST(TransferCoding, ChunkedAloneIsAccepted) {
    EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked"}}), 0);
    EXPECT_EQ(verdict({{"transfer-encoding", "CHUNKED"}}), 0);
    EXPECT_EQ(verdict({{"Host", "a"}, {"Transfer-Encoding", " , chunked ,"}}), 0);
}

TEST(TransferCoding, OtherCodingsAre501) {
    EXPECT_EQ(verdict({{"Transfer-Encoding", "gzip"}}), 501);
    EXPECT_EQ(verdict({{"Transfer-Encoding", "gzip, chunked"}}), 501);
    EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked, gzip"}}), 501);
    EXPECT_EQ(verdict({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}}), 501);
    EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked;q=1"}}), 501);
    EXPECT_EQ(verdict({{"Transfer-Encoding", ""}}), 501);
}

TEST(TransferCoding, ChunkedTwiceIs400) {
    EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked, chunked"}}), 400);
    EXPECT_EQ(verdict({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}), 400);
}

}  // namespace
}  // namespace minid::http
