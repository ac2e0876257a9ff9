// Tests for RequestParser: feeding like a connection does (pipelining, arbitrary splits),
// body skipping, every refusal with its status, limits and keep-alive semantics.
#include "worker/http/request_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace minid::http {
namespace {

// What a test keeps of one request head (the parser's views die with the next execute()).
struct Seen {
    Method method = Method::other;
    std::string method_name, target, host, if_none_match, if_modified_since, range, if_range,
        user_agent, referer;
    int version_major = 0, version_minor = 0;
    bool keep_alive = false, has_body = false;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct ParseRun {
    std::vector<Seen> heads;
    int completes = 0;
    int error_status = 0;  // 0: no error
    std::string error_reason;
    bool between_at_end = false;
};

// Feeds `input` `step` bytes at a time into a fixed-capacity buffer, as the connection code
// does: an unfinished head stays in place, unconsumed bytes move to the front after a message.
ParseRun parse(const std::string& input, size_t step = 0, ParserLimits limits = {}) {
    if (step == 0) step = input.size();
    RequestParser parser(limits);
    std::string buf;
    buf.reserve(input.size() + 16);  // never reallocates, so views stay put while needed
    const char* const base = buf.data();
    size_t fed = 0, pos = 0;
    ParseRun run;
    bool after_head = false;  // execute() must run once more after a head, even on no bytes
    for (;;) {
        if (pos == buf.size() && !after_head) {
            if (fed == input.size()) break;
            const size_t n = std::min(step, input.size() - fed);
            buf.append(input, fed, n);
            fed += n;
        }
        EXPECT_EQ(buf.data(), base);
        const auto out = parser.execute(buf.data() + pos, buf.size() - pos);
        EXPECT_LE(out.consumed, buf.size() - pos);
        pos += out.consumed;
        after_head = out.event == RequestParser::Event::head;
        if (out.event == RequestParser::Event::head) {
            const Request& r = parser.request();
            Seen s;
            s.method = r.method;
            s.method_name = r.method_name;
            s.target = r.target;
            s.host = r.host;
            s.if_none_match = r.if_none_match;
            s.if_modified_since = r.if_modified_since;
            s.range = r.range;
            s.if_range = r.if_range;
            s.user_agent = r.user_agent;
            s.referer = r.referer;
            s.version_major = r.version_major;
            s.version_minor = r.version_minor;
            s.keep_alive = r.keep_alive;
            s.has_body = r.has_body;
            for (uint32_t i = 0; i < r.header_count; ++i) {
                s.headers.emplace_back(r.headers[i].name, r.headers[i].value);
            }
            EXPECT_EQ(parser.between_messages(), !s.has_body);
            run.heads.push_back(std::move(s));
        } else if (out.event == RequestParser::Event::message_complete) {
            ++run.completes;
            EXPECT_TRUE(parser.between_messages());
            buf.erase(0, pos);
            pos = 0;
        } else if (out.event == RequestParser::Event::error) {
            run.error_status = parser.error_status();
            run.error_reason = parser.error_reason();
            break;
        }
    }
    run.between_at_end = parser.between_messages();
    return run;
}

int status_of(const std::string& input, ParserLimits limits = {}) {
    const ParseRun whole = parse(input, 0, limits);
    const ParseRun bytewise = parse(input, 1, limits);
    EXPECT_EQ(whole.error_status, bytewise.error_status) << "split changed the outcome";
    if (whole.error_status != 0) EXPECT_FALSE(whole.error_reason.empty());
    return whole.error_status;
}

TEST(RequestParser, SimpleGet) {
    const ParseRun r = parse(
        "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n"
        "Referer: http://r/\r\nAccept: */*\r\n\r\n");
    ASSERT_EQ(r.error_status, 0) << r.error_reason;
    ASSERT_EQ(r.heads.size(), 1u);
    EXPECT_EQ(r.completes, 1);
    const Seen& s = r.heads[0];
    EXPECT_EQ(s.method, Method::get);
    EXPECT_EQ(s.method_name, "GET");
    EXPECT_EQ(s.target, "/index.html?x=1");
    EXPECT_EQ(s.host, "example.com");
    EXPECT_EQ(s.user_agent, "t/1");
    EXPECT_EQ(s.referer, "http://r/");
    EXPECT_EQ(s.version_major, 1);
    EXPECT_EQ(s.version_minor, 1);
    EXPECT_TRUE(s.keep_alive);
    EXPECT_FALSE(s.has_body);
    ASSERT_EQ(s.headers.size(), 4u);
    EXPECT_EQ(s.headers[3].first, "Accept");
    EXPECT_EQ(s.headers[3].second, "*/*");
    EXPECT_TRUE(r.between_at_end);
}

TEST(RequestParser, ConditionalHeadersAreCaseInsensitiveAndTrimmed) {
    const ParseRun r = parse(
        "HEAD / HTTP/1.1\r\nhOsT: a\r\nIF-NONE-MATCH: \"x\"  \r\nif-modified-since: Sun, 06 "
        "Nov 1994 08:49:37 GMT\r\nRANGE:bytes=0-1\t\r\nIf-Range: \"y\"\r\n\r\n");
    ASSERT_EQ(r.heads.size(), 1u);
    const Seen& s = r.heads[0];
    EXPECT_EQ(s.method, Method::head);
    EXPECT_EQ(s.host, "a");
    EXPECT_EQ(s.if_none_match, "\"x\"");
    EXPECT_EQ(s.if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(s.range, "bytes=0-1");
    EXPECT_EQ(s.if_range, "\"y\"");
}

TEST(RequestParser, OtherMethodsAreParsedAsOther) {
    const ParseRun r = parse("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(r.heads.size(), 1u);
    EXPECT_EQ(r.heads[0].method, Method::other);
    EXPECT_EQ(r.heads[0].method_name, "DELETE");
}

const std::string kPipelined =
    "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
    "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    "GET /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=\"v\"\r\nhello\r\n0\r\nTrailer-X: 1\r\n\r\n"
    "HEAD /4 HTTP/1.1\r\nHost: a\r\nX-Long: abcdefghijklmnopqrstuvwxyz\r\n\r\n";

TEST(RequestParser, PipelinedRequestsInOneBuffer) {
    const ParseRun r = parse(kPipelined);
    ASSERT_EQ(r.error_status, 0) << r.error_reason;
    ASSERT_EQ(r.heads.size(), 4u);
    EXPECT_EQ(r.completes, 4);
    EXPECT_EQ(r.heads[0].target, "/1");
    EXPECT_EQ(r.heads[1].target, "/2");
    EXPECT_TRUE(r.heads[1].has_body);
    EXPECT_EQ(r.heads[2].target, "/3");
    EXPECT_TRUE(r.heads[2].has_body);
    EXPECT_EQ(r.heads[3].target, "/4");
    EXPECT_EQ(r.heads[3].headers.at(1).second, "abcdefghijklmnopqrstuvwxyz");
}

TEST(RequestParser, EverySplitSizeGivesTheSameRequests) {
    const ParseRun whole = parse(kPipelined);
    for (size_t step = 1; step <= 40; ++step) {
        const ParseRun r = parse(kPipelined, step);
        ASSERT_EQ(r.error_status, 0) << "step " << step << ": " << r.error_reason;
        ASSERT_EQ(r.heads.size(), whole.heads.size()) << "step " << step;
        EXPECT_EQ(r.completes, 4) << "step " << step;
        for (size_t i = 0; i < r.heads.size(); ++i) {
            EXPECT_EQ(r.heads[i].target, whole.heads[i].target) << "step " << step;
            EXPECT_EQ(r.heads[i].headers, whole.heads[i].headers) << "step " << step;
        }
    }
}

TEST(RequestParser, GetWithBodyThenPipelinedRequest) {
    const ParseRun r = parse(
        "GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 18\r\n\r\nGET /evil HTTP/1.1"
        "GET /b HTTP/1.1\r\nHost: a\r\n\r\n",
        3);
    ASSERT_EQ(r.error_status, 0) << r.error_reason;
    ASSERT_EQ(r.heads.size(), 2u);
    EXPECT_EQ(r.heads[0].target, "/a");
    EXPECT_TRUE(r.heads[0].has_body);
    EXPECT_EQ(r.heads[1].target, "/b");
}

TEST(RequestParser, ChunkedBodyIsDiscardedByteByByte) {
    const ParseRun r = parse(
        "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "a\r\n0123456789\r\n1A ; name ; n2=\"q\\\"x\"\r\n" +
            std::string(26, 'z') + "\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
        1);
    ASSERT_EQ(r.error_status, 0) << r.error_reason;
    ASSERT_EQ(r.heads.size(), 2u);
    EXPECT_EQ(r.heads[1].target, "/next");
    EXPECT_EQ(r.completes, 2);
}

TEST(RequestParser, BetweenMessagesTracksTheNextRequest) {
    RequestParser p({});
    EXPECT_TRUE(p.between_messages());
    std::string buf = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGE";
    auto out = p.execute(buf.data(), buf.size());
    ASSERT_EQ(out.event, RequestParser::Event::head);
    EXPECT_TRUE(p.between_messages());  // no body: only the completion is pending
    size_t pos = out.consumed;
    out = p.execute(buf.data() + pos, buf.size() - pos);
    ASSERT_EQ(out.event, RequestParser::Event::message_complete);
    EXPECT_EQ(out.consumed, 0u);
    EXPECT_TRUE(p.between_messages());
    out = p.execute(buf.data() + pos, buf.size() - pos);
    EXPECT_EQ(out.event, RequestParser::Event::need_more);
    EXPECT_EQ(out.consumed, 2u);
    EXPECT_FALSE(p.between_messages());
}

TEST(RequestParser, NotBetweenMessagesInsideABody) {
    RequestParser p({});
    std::string buf = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab";
    auto out = p.execute(buf.data(), buf.size());
    ASSERT_EQ(out.event, RequestParser::Event::head);
    EXPECT_FALSE(p.between_messages());
    size_t pos = out.consumed;
    out = p.execute(buf.data() + pos, buf.size() - pos);
    EXPECT_EQ(out.event, RequestParser::Event::body);
    EXPECT_EQ(out.body, "ab");
    EXPECT_FALSE(p.between_messages());
    out = p.execute(buf.data() + buf.size(), 0);
    EXPECT_EQ(out.event, RequestParser::Event::need_more);
    std::string rest = "cd";
    out = p.execute(rest.data(), rest.size());
    EXPECT_EQ(out.event, RequestParser::Event::body);
    EXPECT_EQ(out.body, "cd");
    EXPECT_EQ(out.consumed, 2u);
    out = p.execute(rest.data() + rest.size(), 0);
    EXPECT_EQ(out.event, RequestParser::Event::message_complete);
    EXPECT_EQ(out.consumed, 0u);
    EXPECT_TRUE(p.between_messages());
}

// Feeds `wire` in steps of `step` bytes as a session does (bytes stay where they are; only new
// ones are appended) and returns the body bytes reported and how many messages completed.
std::pair<std::string, int> body_pieces(const std::string& wire, size_t step) {
    RequestParser p({});
    std::string body;
    int complete = 0;
    std::string buf;
    buf.reserve(wire.size());  // never moves: the parser's views point into it
    size_t fed = 0;
    for (int guard = 0; guard < 10000; ++guard) {
        const auto out = p.execute(buf.data() + fed, buf.size() - fed);
        fed += out.consumed;
        if (out.event == RequestParser::Event::body) body.append(out.body);
        if (out.event == RequestParser::Event::message_complete) ++complete;
        if (out.event == RequestParser::Event::error) return {"<error>", complete};
        if (out.event == RequestParser::Event::need_more) {
            if (buf.size() == wire.size()) break;
            buf.append(wire, buf.size(), std::min(step, wire.size() - buf.size()));
        }
    }
    return {body, complete};
}

TEST(RequestParser, ReportsBodyBytesOfBothFramings) {
    const std::string chunked =
        "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
    const std::string sized =
        "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\nhello, world";
    for (size_t step : {size_t{1}, size_t{3}, size_t{7}, size_t{1000}}) {
        EXPECT_EQ(body_pieces(chunked, step), std::make_pair(std::string("hello, world"), 1))
            << step;
        EXPECT_EQ(body_pieces(sized + sized, step),
                  std::make_pair(std::string("hello, worldhello, world"), 2))
            << step;
    }
}

TEST(RequestParser, LeadingEmptyLinesAreNotARequest) {
    RequestParser p({});
    std::string buf = "\r\n";
    const auto out = p.execute(buf.data(), buf.size());
    EXPECT_EQ(out.event, RequestParser::Event::need_more);
    EXPECT_TRUE(p.between_messages());
    const ParseRun r = parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.heads.size(), 1u);
}

TEST(RequestParser, KeepAliveSemantics) {
    auto keep = [](const std::string& in) {
        const ParseRun r = parse(in);
        EXPECT_EQ(r.heads.size(), 1u) << in;
        return !r.heads.empty() && r.heads[0].keep_alive;
    };
    EXPECT_TRUE(keep("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
    EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.0\r\nConnection: close\r\n\r\n"));
    EXPECT_FALSE(
        keep("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: "
             "chunked\r\n\r\n0\r\n\r\n"));
}

TEST(RequestParser, Http10NeedsNoHost) {
    const ParseRun r = parse("GET / HTTP/1.0\r\n\r\n");
    ASSERT_EQ(r.heads.size(), 1u);
    EXPECT_EQ(r.heads[0].version_minor, 0);
}

TEST(RequestParser, AbsoluteFormTarget) {
    const ParseRun r =
        parse("GET http://example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    ASSERT_EQ(r.heads.size(), 1u);
    EXPECT_EQ(r.heads[0].target, "http://example.com:8080/a/b?q=1");
}

TEST(RequestParser, UpgradeAndConnectAreOrdinaryRequests) {
    const ParseRun r = parse(
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(r.error_status, 0) << r.error_reason;
    ASSERT_EQ(r.heads.size(), 3u);
    EXPECT_EQ(r.heads[0].target, "/ws");
    EXPECT_EQ(r.heads[1].method, Method::other);
    EXPECT_EQ(r.heads[1].target, "a:443");
    EXPECT_EQ(r.heads[2].target, "/after");
    EXPECT_EQ(r.completes, 3);
}

struct ErrorCase {
    const char* name;
    std::string input;
    int status;
};

TEST(RequestParser, RefusalsAndTheirStatus) {
    const std::string h = "Host: a\r\n";
    const std::vector<ErrorCase> cases = {
        {"garbage", "HELLO\r\n\r\n", 400},
        {"lowercase method", "get / HTTP/1.1\r\n" + h + "\r\n", 400},
        {"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 400},
        {"two Hosts", "GET / HTTP/1.1\r\n" + h + h + "\r\n", 400},
        {"two Hosts in 1.0", "GET / HTTP/1.0\r\n" + h + h + "\r\n", 400},
        {"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", 505},
        {"HTTP/3.1", "GET / HTTP/3.1\r\n" + h + "\r\n", 505},
        {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505},
        {"HTTP/1.2", "GET / HTTP/1.2\r\n" + h + "\r\n", 505},
        // Found by fuzzing: llhttp reads this as HTTP/0.9 and then parses header lines.
        {"no version", "GET /x\r\n" + h + "\r\n", 400},
        {"no version, absolute-form", "GET http://a/P/1.1\r\n" + h + "\r\n", 400},
        {"bad version", "GET / HTTP/x.1\r\n" + h + "\r\n", 400},
        {"space after version", "GET / HTTP/1.1 \r\n" + h + "\r\n", 400},
        {"PRI preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
        {"CL with TE",
         "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"TE with CL",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
         400},
        {"duplicate CL",
         "POST / HTTP/1.1\r\n" + h + "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
        {"list CL", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1, 1\r\n\r\nx", 400},
        {"negative CL", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", 400},
        {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        {"tab before colon", "GET / HTTP/1.1\r\n" + h + "X\t: b\r\n\r\n", 400},
        {"obs-fold", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", 400},
        {"obs-fold after empty value", "GET / HTTP/1.1\r\n" + h + "X:\r\n b\r\n\r\n", 400},
        {"bare LF after request line", "GET / HTTP/1.1\n" + h + "\r\n", 400},
        {"bare LF after header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400},
        {"bare LF ending head", "GET / HTTP/1.1\r\n" + h + "\n", 400},
        {"bare CR ending head", "GET / HTTP/1.1\r\n" + h + "\rX", 400},
        {"bare CR in value", "GET / HTTP/1.1\r\n" + h + "X: a\rb\r\n\r\n", 400},
        {"NUL in value", "GET / HTTP/1.1\r\n" + h + std::string("X: a\0b\r\n\r\n", 10), 400},
        {"NUL in target", std::string("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 29), 400},
        {"control char in value",
         "GET / HTTP/1.1\r\n" + h +
             "X: a\x01"
             "b\r\n\r\n",
         400},
        {"DEL in value",
         "GET / HTTP/1.1\r\n" + h +
             "X: a\x7f"
             "b\r\n\r\n",
         400},
        {"tab in target", "GET /a\tb HTTP/1.1\r\n" + h + "\r\n", 400},
        {"leading space header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
        {"TE gzip", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", 501},
        {"TE gzip, chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n",
         501},
        {"TE chunked, gzip", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n",
         501},
        // llhttp does not flag an empty Transfer-Encoding; minid must not frame around it.
        {"TE empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n\r\n0\r\n\r\n", 501},
        {"TE blank", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:  \r\n\r\n", 501},
        {"TE empty with CL",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
         400},
        {"TE chunked twice",
         "POST / HTTP/1.1\r\n" + h +
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         501},
        {"bad chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
         400},
        {"negative chunk size",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", 400},
        {"chunk size overflow",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
         400},
        {"space after chunk size",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n", 400},
        {"no CRLF after chunk data",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n", 400},
        {"bare LF in chunk framing",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400},
        {"bare CR in chunk framing",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\rabc\r\n0\r\n\r\n", 400},
        {"bare LF ending trailers",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\n", 400},
        {"obs-fold in trailer",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n",
         400},
        {"control char in chunk ext",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;a=\x01\r\nx\r\n0\r\n\r\n",
         400},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(status_of(c.input), c.status) << c.name;
    }
}

TEST(RequestParser, HeadSizeLimitGives414WhileInTheTarget) {
    ParserLimits limits;
    limits.max_header_size = 64;
    EXPECT_EQ(status_of("GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", limits),
              414);
    // Not complete yet either: the target is still streaming in.
    const ParseRun partial = parse("GET /" + std::string(100, 'a'), 7, limits);
    EXPECT_EQ(partial.error_status, 414);
}

TEST(RequestParser, HeadSizeLimitGives431AfterTheTarget) {
    ParserLimits limits;
    limits.max_header_size = 64;
    EXPECT_EQ(
        status_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(100, 'b') + "\r\n\r\n", limits),
        431);
    const ParseRun partial =
        parse("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(100, 'b'), 5, limits);
    EXPECT_EQ(partial.error_status, 431);
    // Many short headers, each under the limit on its own.
    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 10; ++i) many += "A: b\r\n";
    EXPECT_EQ(status_of(many + "\r\n", limits), 431);
}

TEST(RequestParser, HeadExactlyAtTheLimitIsAccepted) {
    const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ParserLimits limits;
    limits.max_header_size = static_cast<uint32_t>(head.size());
    EXPECT_EQ(status_of(head, limits), 0);
    limits.max_header_size -= 1;
    EXPECT_EQ(status_of(head, limits), 431);
}

TEST(RequestParser, AtMostOneHundredHeaders) {
    std::string req = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 1; i < 100; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
    ParserLimits big;
    big.max_header_size = 1 << 16;
    const ParseRun ok = parse(req + "\r\n", 0, big);
    ASSERT_EQ(ok.error_status, 0) << ok.error_reason;
    EXPECT_EQ(ok.heads.at(0).headers.size(), 100u);
    EXPECT_EQ(status_of(req + "X-100: v\r\n\r\n", big), 431);
}

TEST(RequestParser, BodyLimitGives413) {
    ParserLimits limits;
    limits.max_body_size = 10;
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits), 413);
    EXPECT_EQ(
        status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", limits), 0);
    const std::string chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    EXPECT_EQ(status_of(chunked + "6\r\n012345\r\n5\r\n01234\r\n0\r\n\r\n", limits), 413);
    EXPECT_EQ(status_of(chunked + "6\r\n012345\r\n4\r\n0123\r\n0\r\n\r\n", limits), 0);
    EXPECT_EQ(status_of(chunked + "ffffffffffffffff\r\n", limits), 413);
}

TEST(RequestParser, TrailerSectionIsBounded) {
    ParserLimits limits;
    limits.max_header_size = 128;
    const std::string chunked =
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    EXPECT_EQ(status_of(chunked + "X: " + std::string(200, 'v') + "\r\n\r\n", limits), 431);
}

TEST(RequestParser, ErrorIsStickyAndResetRecovers) {
    RequestParser p({});
    std::string bad = "BAD\r\n\r\n";
    ASSERT_EQ(p.execute(bad.data(), bad.size()).event, RequestParser::Event::error);
    EXPECT_EQ(p.error_status(), 400);
    std::string good = "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n";
    EXPECT_EQ(p.execute(good.data(), good.size()).event, RequestParser::Event::error);
    p.reset();
    EXPECT_TRUE(p.between_messages());
    EXPECT_EQ(p.error_status(), 0);
    const auto out = p.execute(good.data(), good.size());
    ASSERT_EQ(out.event, RequestParser::Event::head);
    EXPECT_EQ(out.consumed, good.size());
    EXPECT_EQ(p.request().target, "/ok");
}

TEST(RequestParser, ResetInTheMiddleOfAHead) {
    RequestParser p({});
    std::string part = "GET /half HTTP/1.1\r\nHo";
    EXPECT_EQ(p.execute(part.data(), part.size()).event, RequestParser::Event::need_more);
    p.reset();
    std::string good = "GET /whole HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(p.execute(good.data(), good.size()).event, RequestParser::Event::head);
    EXPECT_EQ(p.request().target, "/whole");
    EXPECT_EQ(p.request().header_count, 1u);
}

}  // namespace
}  // namespace minid::http
