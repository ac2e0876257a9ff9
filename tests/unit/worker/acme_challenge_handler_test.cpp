// HTTP-01 tokens: only base64url tokens are answered (anything else is a 404 without a lookup).
#include "worker/acme_challenge_handler.hpp"

#include <gtest/gtest.h>

namespace minid {
namespace {

TEST(AcmeChallengeHandler, OnlyBase64UrlTokens) {
    EXPECT_TRUE(AcmeChallengeHandler::valid_token("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"));
    EXPECT_TRUE(AcmeChallengeHandler::valid_token("a_B-9"));
    EXPECT_FALSE(AcmeChallengeHandler::valid_token(""));
    EXPECT_FALSE(AcmeChallengeHandler::valid_token("a.b"));
    EXPECT_FALSE(AcmeChallengeHandler::valid_token("../etc/passwd"));
    EXPECT_FALSE(AcmeChallengeHandler::valid_token("tok?x=1"));
    EXPECT_FALSE(AcmeChallengeHandler::valid_token("tok%2F"));
    EXPECT_FALSE(AcmeChallengeHandler::valid_token(std::string(257, 'a')));
    EXPECT_TRUE(AcmeChallengeHandler::valid_token(std::string(256, 'a')));
}

}  // namespace
}  // namespace minid
