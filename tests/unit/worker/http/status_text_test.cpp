// Tests for reason phrases and error pages.
#include "worker/http/status_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace minid::http {
namespace {

TEST(StatusText, ReasonPhrases) {
    EXPECT_EQ(reason_phrase(200), "OK");
    EXPECT_EQ(reason_phrase(404), "Not Found");
    EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
    EXPECT_EQ(reason_phrase(299), "Unknown");
}

TEST(StatusText, ReasonPhrasesOfWhatAProxiedAppSends) {
    EXPECT_EQ(reason_phrase(101), "Switching Protocols");
    EXPECT_EQ(reason_phrase(201), "Created");
    EXPECT_EQ(reason_phrase(302), "Found");
    EXPECT_EQ(reason_phrase(422), "Unprocessable Content");
    EXPECT_EQ(reason_phrase(429), "Too Many Requests");
    EXPECT_EQ(reason_phrase(502), "Bad Gateway");
    EXPECT_EQ(reason_phrase(504), "Gateway Timeout");
    EXPECT_NE(std::string(error_page(502)).find("<title>502 Bad Gateway</title>"),
              std::string::npos);
}

TEST(StatusText, ErrorPagesNameTheirStatus) {
    for (int s : {400, 403, 404, 405, 408, 413, 414, 416, 431, 500, 501, 503, 505}) {
        const std::string page(error_page(s));
        const std::string title = std::to_string(s) + " " + std::string(reason_phrase(s));
        EXPECT_NE(page.find("<title>" + title + "</title>"), std::string::npos) << s;
        EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
    }
    EXPECT_EQ(error_page(404).data(), error_page(404).data());
    EXPECT_NE(std::string(error_page(299)).find("500"), std::string::npos);
}

}  // namespace
}  // namespace minid::http
