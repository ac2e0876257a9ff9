// The kernel's kTLS offer as read from a tcp_available_ulp file: "tls" among the words, or why
// not in words an operator can act on.
#include "worker/transport/ktls.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace minid {
namespace {

struct TempFile {
    std::string path;
    explicit TempFile(const std::string& content) {
        char tmpl[] = "/tmp/minid-ulp-XXXXXX";
        const int fd = ::mkstemp(tmpl);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << content;
    }
    ~TempFile() { ::unlink(path.c_str()); }
};

TEST(Ktls, OfferedWhenTlsIsAnAvailableUlp) {
    TempFile with("mptcp tls\n");
    EXPECT_EQ(ktls_unavailable_reason(with.path), "");
    TempFile without("mptcp\n");
    const std::string why = ktls_unavailable_reason(without.path);
    EXPECT_NE(why.find("'tls' is not in " + without.path), std::string::npos) << why;
    EXPECT_NE(why.find("modprobe tls"), std::string::npos) << why;
    TempFile lookalike("tlsx mptcp\n");
    EXPECT_NE(ktls_unavailable_reason(lookalike.path), "");
    EXPECT_NE(ktls_unavailable_reason("/nonexistent/ulp").find("cannot be read"),
              std::string::npos);
}

}  // namespace
}  // namespace minid
