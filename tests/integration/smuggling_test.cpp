// Request smuggling and framing (RFC 9112) against the real binary: each hostile request is
// sent over a raw socket with a second, valid request pipelined behind it. The hostile one must
// be refused (400/501/505/431) or, when its head was fine and only its body is broken, get no
// further answer; either way the connection closes and the second request is never answered,
// so nothing a front-end proxy might forward behind it can be read as a request.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "integration/harness.hpp"

namespace minid::test {
namespace {

// The pipelined request that must never be answered, and a marker only its answer contains.
const std::string kSecond = "GET /second.txt HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kSecondBody = "SECOND-REQUEST-WAS-ANSWERED";

struct Case {
    const char* name;
    std::string request;       // sent first, kSecond right behind it in the same write
    std::vector<int> answers;  // the statuses expected before the close, in order
};

const std::string H = "Host: x\r\n";

std::vector<Case> cases() {
    return {
        // Content-Length and Transfer-Encoding disagreements.
        {"CL then TE",
         "POST / HTTP/1.1\r\n" + H +
             "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         {400}},
        {"TE then CL",
         "POST / HTTP/1.1\r\n" + H +
             "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\n",
         {400}},
        {"GET with CL and TE",
         "GET /hello.txt HTTP/1.1\r\n" + H +
             "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         {400}},
        {"duplicate CL, same value",
         "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
         {400}},
        {"duplicate CL, other value",
         "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 0\r\n\r\nabc",
         {400}},
        {"CL list", "POST / HTTP/1.1\r\n" + H + "Content-Length: 3, 3\r\n\r\nabc", {400}},
        {"CL with plus sign", "POST / HTTP/1.1\r\n" + H + "Content-Length: +3\r\n\r\nabc", {400}},
        {"CL negative", "POST / HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n", {400}},
        {"CL hex", "POST / HTTP/1.1\r\n" + H + "Content-Length: 0x3\r\n\r\nabc", {400}},
        {"CL overflowing uint64",
         "POST / HTTP/1.1\r\n" + H + "Content-Length: 18446744073709551617\r\n\r\n",
         {400}},
        {"CL with space inside", "POST / HTTP/1.1\r\n" + H + "Content-Length: 1 2\r\n\r\n", {400}},
        {"CL empty", "POST / HTTP/1.1\r\n" + H + "Content-Length:\r\n\r\n", {400}},
        // Transfer codings other than a single final chunked.
        {"TE gzip", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\n\r\n", {501}},
        {"TE identity", "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: identity\r\n\r\n", {501}},
        {"TE chunked not final",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
         {501}},
        {"TE gzip then chunked",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
         {501}},
        {"TE chunked twice in a list",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
         {501}},
        {"TE chunked in two fields",
         "POST / HTTP/1.1\r\n" + H +
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         {501}},
        {"TE misspelt coding",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
         {501}},
        {"TE empty value",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding:\r\n\r\n0\r\n\r\n",
         {501}},
        {"TE empty value with CL",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding:\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
         {400}},
        {"TE with vertical tab",
         "POST / HTTP/1.1\r\n" + H +
             "Transfer-Encoding: \x0b"
             "chunked\r\n\r\n0\r\n\r\n",
         {400}},
        // Whitespace and line-ending tricks in the head.
        {"space before colon (TE)",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
         {400}},
        {"space before colon (Host)", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", {400}},
        {"tab before colon", "GET / HTTP/1.1\r\n" + H + "X-A\t: b\r\n\r\n", {400}},
        {"whitespace before the first field", "GET / HTTP/1.1\r\n " + H + "\r\n", {400}},
        {"obs-fold", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\n b\r\n\r\n", {400}},
        {"obs-fold of TE",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
         {400}},
        {"bare CR in a field", "GET / HTTP/1.1\r\n" + H + "X-A: a\rb\r\n\r\n", {400}},
        {"bare CR ends a field", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\r\n\r\n", {400}},
        {"bare LF ends a field", "GET / HTTP/1.1\r\n" + H + "X-A: a\n\r\n", {400}},
        {"bare LF ends the head", "GET / HTTP/1.1\r\n" + H + "\n", {400}},
        {"LF-only head", "GET / HTTP/1.1\nHost: x\n\n", {400}},
        {"NUL in a field value",
         std::string("GET / HTTP/1.1\r\n") + H + "X-A: a" + '\0' + "b\r\n\r\n",
         {400}},
        {"NUL in the target", std::string("GET /a") + '\0' + "b HTTP/1.1\r\n" + H + "\r\n", {400}},
        {"control byte in a field value",
         "GET / HTTP/1.1\r\n" + H +
             "X-A: a\x01"
             "b\r\n\r\n",
         {400}},
        {"DEL in a field value",
         "GET / HTTP/1.1\r\n" + H +
             "X-A: a\x7f"
             "b\r\n\r\n",
         {400}},
        {"invalid field name", "GET / HTTP/1.1\r\n" + H + "X[A]: b\r\n\r\n", {400}},
        {"empty field name", "GET / HTTP/1.1\r\n" + H + ": b\r\n\r\n", {400}},
        {"tab in the target", "GET /a\tb HTTP/1.1\r\n" + H + "\r\n", {400}},
        {"no HTTP version", "GET /hello.txt\r\n" + H + "\r\n", {400}},
        {"HTTP/1.2", "GET / HTTP/1.2\r\n" + H + "\r\n", {505}},
        {"lower-case version", "GET / http/1.1\r\n" + H + "\r\n", {400}},
        // Host.
        {"duplicate Host", "GET / HTTP/1.1\r\n" + H + H + "\r\n", {400}},
        {"duplicate Host, different", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {400}},
        {"missing Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", {400}},
        // Broken chunked framing: the head was valid, but its answer waits for the end of the
        // body, so the broken body is refused (400, or 413 over the limit) before anything
        // else is sent, and the connection ends.
        {"chunk size not hex",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
         {400}},
        {"chunk size overflowing",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n10000000000000001\r\n",
         {400}},
        {"chunk size with 17 digits",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n",
         {400}},
        {"chunk size negative",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n-1\r\n",
         {400}},
        {"chunk size with bare LF",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
         {400}},
        {"chunk data longer than its size",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
         {400}},
        {"chunk extension with bare CR",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n3;a\rb\r\nabc\r\n0\r\n\r\n",
         {400}},
        {"last chunk without final CRLF, then a request",
         "POST / HTTP/1.1\r\n" + H +
             "Transfer-Encoding: chunked\r\n\r\n0\r\nGET /x HTTP/1.1\r\n\r\n",
         {400}},
        {"obs-fold in the trailer",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n0\r\nT: a\r\n b\r\n\r\n",
         {400}},
        {"chunked body over max_body_size",
         "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n800\r\n",
         {413}},
        {"GET with a broken chunked body",
         "GET /hello.txt HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nx\r\n",
         {400}},
        // Limits: refused before any answer, then closed.
        {"Content-Length over max_body_size",
         "POST / HTTP/1.1\r\n" + H + "Content-Length: 4096\r\n\r\n",
         {413}},
        {"head over max_header_size",
         "GET / HTTP/1.1\r\n" + H + "X-Big: " + std::string(3000, 'a') + "\r\n\r\n",
         {431}},
        {"target over max_header_size",
         "GET /" + std::string(3000, 'a') + " HTTP/1.1\r\n" + H + "\r\n",
         {414}},
        // Framing that is valid but ends the connection by itself.
        {"HTTP/1.0 with chunked body",
         "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         {405}},
        {"Connection: close",
         "GET /hello.txt HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n",
         {200}},
    };
}

class Smuggling : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        site_ = new Site("", "header_timeout = 2s\nmax_header_size = 2k\nmax_body_size = 1k\n", 1);
        site_->dir.write("www/second.txt", kSecondBody);
        server_ = new MinidProcess();
        ASSERT_TRUE(server_->start({"-c", site_->config_path}, site_->log_path));
        ASSERT_TRUE(server_->wait_serving(site_->port)) << server_->log();
    }
    static void TearDownTestSuite() {
        server_->signal(SIGTERM);
        const int st = server_->wait_exit();
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << "\n" << server_->log();
        EXPECT_TRUE(server_->bad_log_lines().empty()) << server_->log();
        delete server_;
        delete site_;
    }

    // Sends `first` + kSecond in one write and collects everything until the server closes.
    struct Outcome {
        bool closed = false;
        std::vector<int> statuses;
        std::string raw;
    };
    static Outcome exchange(const std::string& first) {
        Outcome o;
        Client c(site_->port);
        EXPECT_TRUE(c.connected());
        EXPECT_TRUE(c.send(first + kSecond));
        o.closed = c.read_until_close(o.raw, 5s);
        std::string rest = o.raw;
        for (;;) {
            HttpResponse r;
            const size_t used = parse_response(rest, r);
            if (used == 0) break;
            o.statuses.push_back(r.status);
            rest.erase(0, used);
        }
        return o;
    }

    static Site* site_;
    static MinidProcess* server_;
};
Site* Smuggling::site_ = nullptr;
MinidProcess* Smuggling::server_ = nullptr;

// The control: a valid first request lets the pipelined second one through, so the table's
// "not answered" results are not an artifact of how the requests are sent.
TEST_F(Smuggling, ValidFirstRequestLetsTheSecondThrough) {
    for (const std::string& first :
         {"GET /hello.txt HTTP/1.1\r\n" + H + "\r\n",
          "POST / HTTP/1.1\r\n" + H + "Content-Length: 3\r\n\r\nabc",
          "POST / HTTP/1.1\r\n" + H +
              "Transfer-Encoding: chunked\r\n\r\n3;x=\"y\"\r\nabc\r\n0\r\nT: v\r\n\r\n"}) {
        SCOPED_TRACE(first);
        Client c(site_->port);
        ASSERT_TRUE(c.send(first + kSecond));
        auto r = c.read_responses(2);
        ASSERT_EQ(r.size(), 2u);
        EXPECT_EQ(r[1].body, kSecondBody);
    }
}

TEST_F(Smuggling, EveryHostileRequestIsRefusedAndEndsTheConnection) {
    for (const Case& k : cases()) {
        SCOPED_TRACE(k.name);
        const Outcome o = exchange(k.request);
        EXPECT_TRUE(o.closed) << "connection left open; got: " << o.raw.substr(0, 300);
        EXPECT_EQ(o.statuses, k.answers) << o.raw.substr(0, 300);
        EXPECT_EQ(o.raw.find(kSecondBody), std::string::npos)
            << "the pipelined request was answered";
        if (!o.statuses.empty() && o.statuses.back() >= 400 && o.statuses.back() != 405)
            EXPECT_NE(o.raw.find("Connection: close"), std::string::npos) << o.raw.substr(0, 300);
    }
    // The server is still serving normally afterwards.
    auto r = http_get(site_->port, "/second.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, kSecondBody);
}

}  // namespace
}  // namespace minid::test
