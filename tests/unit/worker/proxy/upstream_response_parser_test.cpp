// Tests for UpstreamResponseParser: every case fed whole and byte by byte; framing (length,
// chunked, close-delimited, HEAD/1xx/204/304, 101), reuse decisions, and every refusal.
#include "worker/proxy/upstream_response_parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace minid::proxy {
namespace {

using Framing = UpstreamResponseHead::Framing;
using namespace std::string_literals;

// Keeps what the parser reported, in order (body pieces are joined).
class Recorder : public UpstreamResponseParser::Sink {
  public:
    void on_informational(const UpstreamResponseHead& h) override {
        events.push_back("info " + std::to_string(h.status));
        informational.push_back(h);
    }
    void on_head(const UpstreamResponseHead& h) override {
        events.push_back("head " + std::to_string(h.status));
        head = h;
    }
    void on_body(std::string_view data) override {
        EXPECT_FALSE(data.empty());
        if (events.empty() || events.back() != "body") events.push_back("body");
        body.append(data);
    }
    void on_complete() override { events.push_back("complete"); }

    std::vector<std::string> events;
    std::vector<UpstreamResponseHead> informational;
    UpstreamResponseHead head;
    std::string body;
};

struct Parsed {
    Recorder rec;
    std::string error;  // from feed(), or from finish() when `close`
    size_t fed_until_error = 0;
    bool complete = false;
    bool reusable = false;
    bool started = false;
    std::string leftover;
};

struct Options {
    bool head_request = false;
    bool upgrade_requested = false;
    bool close = false;  // call finish() after the input
    size_t max_head = 16 * 1024;
};

// Feeds `input` in pieces of the sizes `next_size()` returns into a fresh parser.
template <typename NextSize>
Parsed parse_split(const std::string& input, NextSize&& next_size, Options o = {}) {
    Parsed run;
    UpstreamResponseParser parser(o.max_head);
    parser.begin(&run.rec, o.head_request, o.upgrade_requested);
    for (size_t at = 0, step = 0; at < input.size(); at += step) {
        step = std::max<size_t>(1, next_size());
        const Status s = parser.feed(std::string_view(input).substr(at, step));
        if (!s) {
            run.error = s.error();
            run.fed_until_error = at + step;
            // An error sticks.
            const Status again = parser.feed("more");
            EXPECT_FALSE(again.ok());
            if (!again.ok()) EXPECT_EQ(again.error(), run.error);
            break;
        }
    }
    if (o.close && run.error.empty()) {
        const Status s = parser.finish();
        if (!s) run.error = s.error();
    }
    run.complete = parser.complete();
    run.reusable = parser.reusable();
    run.started = parser.started();
    run.leftover = parser.take_upgrade_leftover();
    return run;
}

// Feeds `input` `step` bytes at a time (0: all at once).
Parsed parse(const std::string& input, size_t step, Options o = {}) {
    if (step == 0) step = input.size();
    return parse_split(
        input, [step] { return step; }, o);
}

// The two ways every case is fed: in one piece and byte by byte.
constexpr size_t kSteps[] = {0, 1};

std::vector<std::string> events(std::initializer_list<const char*> list) {
    return {list.begin(), list.end()};
}

TEST(UpstreamResponseParser, ContentLengthResponseIsReusable) {
    const std::string in =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A:  b c \r\n\r\n"
        "hello";
    for (size_t step : kSteps) {
        SCOPED_TRACE(step);
        const Parsed r = parse(in, step);
        EXPECT_EQ(r.error, "");
        EXPECT_EQ(r.rec.events, events({"head 200", "body", "complete"}));
        EXPECT_EQ(r.rec.body, "hello");
        EXPECT_EQ(r.rec.head.framing, Framing::content_length);
        EXPECT_EQ(r.rec.head.content_length, 5u);
        EXPECT_TRUE(r.rec.head.has_content_length);
        EXPECT_EQ(r.rec.head.version_minor, 1);
        ASSERT_EQ(r.rec.head.headers.size(), 3u);
        EXPECT_EQ(r.rec.head.headers[0].first, "Content-Type");
        EXPECT_EQ(r.rec.head.headers[0].second, "text/plain");
        EXPECT_EQ(r.rec.head.headers[2].first, "X-A");
        EXPECT_EQ(r.rec.head.headers[2].second, "b c");  // surrounding whitespace is not value
        EXPECT_TRUE(r.complete);
        EXPECT_TRUE(r.reusable);
        EXPECT_TRUE(r.started);
    }
}

TEST(UpstreamResponseParser, ReasonPhraseMayBeEmptyOrMissingAndValuesMayHoldObsText) {
    for (const char* in : {"HTTP/1.1 200 \r\nX: \x80\xff\r\nContent-Length: 0\r\n\r\n",
                           "HTTP/1.1 200\r\nX: \x80\xff\r\nContent-Length: 0\r\n\r\n"}) {
        for (size_t step : kSteps) {
            const Parsed r = parse(in, step);
            EXPECT_EQ(r.error, "");
            EXPECT_EQ(r.rec.head.headers.at(0).second, "\x80\xff");
            EXPECT_TRUE(r.reusable);
        }
    }
}

TEST(UpstreamResponseParser, ZeroLengthBodyCompletesWithTheHead) {
    for (size_t step : kSteps) {
        const Parsed r = parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", step);
        EXPECT_EQ(r.rec.events, events({"head 200", "complete"}));
        EXPECT_TRUE(r.reusable);
    }
}

TEST(UpstreamResponseParser, ChunkedBodyIsDechunked) {
    const std::string in =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer-A: x\r\n\r\n";
    for (size_t step : kSteps) {
        SCOPED_TRACE(step);
        const Parsed r = parse(in, step);
        EXPECT_EQ(r.error, "");
        EXPECT_EQ(r.rec.events, events({"head 200", "body", "complete"}));
        EXPECT_EQ(r.rec.body, "hello world");
        EXPECT_EQ(r.rec.head.framing, Framing::chunked);
        EXPECT_TRUE(r.reusable);
    }
}

TEST(UpstreamResponseParser, KeepAliveFollowsVersionAndConnection) {
    struct Case {
        const char* head;
        bool reusable;
    };
    const Case cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx", false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: foo, CLOSE\r\n\r\nx", false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\nx", true},
        // Transfer-Encoding in HTTP/1.0 cannot be trusted for reuse (RFC 9112 6.1).
        {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
         "1\r\nx\r\n0\r\n\r\n",
         false},
    };
    for (const Case& c : cases) {
        for (size_t step : kSteps) {
            SCOPED_TRACE(c.head);
            const Parsed r = parse(c.head, step);
            EXPECT_EQ(r.error, "");
            EXPECT_TRUE(r.complete);
            EXPECT_EQ(r.rec.body, "x");
            EXPECT_EQ(r.reusable, c.reusable);
            EXPECT_EQ(r.rec.head.keep_alive, c.reusable);
        }
    }
}

TEST(UpstreamResponseParser, NoLengthMeansCloseDelimitedAndNeverReusable) {
    const std::string in = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this";
    for (size_t step : kSteps) {
        SCOPED_TRACE(step);
        Parsed r = parse(in, step);
        EXPECT_EQ(r.rec.events, events({"head 200", "body"}));
        EXPECT_FALSE(r.complete);
        EXPECT_EQ(r.rec.head.framing, Framing::until_close);
        EXPECT_FALSE(r.rec.head.keep_alive);

        r = parse(in, step, {.close = true});
        EXPECT_EQ(r.error, "");
        EXPECT_EQ(r.rec.events, events({"head 200", "body", "complete"}));
        EXPECT_EQ(r.rec.body, "all of this");
        EXPECT_TRUE(r.complete);
        EXPECT_FALSE(r.reusable);
    }
}

TEST(UpstreamResponseParser, CloseBeforeTheEndIsAnError) {
    const char* inputs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "HTTP/1.1 200 OK\r\nContent-Len",
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
    };
    for (const char* in : inputs) {
        for (size_t step : kSteps) {
            SCOPED_TRACE(in);
            const Parsed r = parse(in, step, {.close = true});
            EXPECT_EQ(r.error, "upstream closed before the response was complete");
            EXPECT_FALSE(r.complete);
            EXPECT_FALSE(r.reusable);
        }
    }
    const Parsed r = parse("", 0, {.close = true});
    EXPECT_EQ(r.error, "upstream closed the connection before sending a response");
    EXPECT_FALSE(r.started);
}

TEST(UpstreamResponseParser, HeadResponseHasNoBodyWhateverContentLengthSays) {
    for (size_t step : kSteps) {
        Parsed r =
            parse("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", step, {.head_request = true});
        EXPECT_EQ(r.rec.events, events({"head 200", "complete"}));
        EXPECT_EQ(r.rec.head.framing, Framing::none);
        EXPECT_EQ(r.rec.head.content_length, 1234u);  // the GET's length, for the client
        EXPECT_TRUE(r.rec.head.has_content_length);
        EXPECT_TRUE(r.reusable);

        // A chunked HEAD response has no body either (not even the last chunk).
        r = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", step,
                  {.head_request = true});
        EXPECT_EQ(r.rec.events, events({"head 200", "complete"}));
        EXPECT_TRUE(r.reusable);
    }
}

TEST(UpstreamResponseParser, StrayBytesAfterBodilessResponsesMakeTheConnectionUnusable) {
    struct Case {
        const char* in;
        int status;
        bool head_request;
    };
    const Case cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, true},
        {"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", 204, false},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello", 304, false},
        {"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 304, false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello", 200, false},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", 200, false},
    };
    for (const Case& c : cases) {
        for (size_t step : kSteps) {
            SCOPED_TRACE(c.in);
            SCOPED_TRACE(step);
            const Parsed r = parse(c.in, step, {.head_request = c.head_request});
            EXPECT_EQ(r.error, "");
            EXPECT_EQ(r.rec.events.front(), "head " + std::to_string(c.status));
            EXPECT_EQ(r.rec.events.back(), "complete");
            EXPECT_TRUE(r.complete);
            EXPECT_FALSE(r.reusable);
        }
    }
}

TEST(UpstreamResponseParser, StrayBytesInALaterFeedMakeTheConnectionUnusable) {
    Recorder rec;
    UpstreamResponseParser parser;
    parser.begin(&rec, false, false);
    ASSERT_TRUE(parser.feed("HTTP/1.1 204 No Content\r\n\r\n").ok());
    EXPECT_TRUE(parser.reusable());
    ASSERT_TRUE(parser.feed("x").ok());
    EXPECT_TRUE(parser.complete());
    EXPECT_FALSE(parser.reusable());
    EXPECT_EQ(rec.events, events({"head 204", "complete"}));
}

TEST(UpstreamResponseParser, InformationalResponsesComeBeforeTheFinalOne) {
    const std::string in =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for (size_t step : kSteps) {
        SCOPED_TRACE(step);
        const Parsed r = parse(in, step);
        EXPECT_EQ(r.error, "");
        EXPECT_EQ(r.rec.events, events({"info 100", "info 103", "head 200", "body", "complete"}));
        ASSERT_EQ(r.rec.informational.size(), 2u);
        ASSERT_EQ(r.rec.informational[1].headers.size(), 1u);
        EXPECT_EQ(r.rec.informational[1].headers[0].second, "</style.css>; rel=preload");
        EXPECT_EQ(r.rec.informational[1].framing, Framing::none);
        ASSERT_EQ(r.rec.head.headers.size(), 1u);  // the 103's Link is not carried over
        EXPECT_EQ(r.rec.head.headers[0].first, "Content-Length");
        EXPECT_EQ(r.rec.body, "ok");
        EXPECT_TRUE(r.reusable);
    }
}

TEST(UpstreamResponseParser, EndlessInformationalResponsesAreRefused) {
    std::string in;
    for (int i = 0; i < 40; ++i) in += "HTTP/1.1 103 Early Hints\r\n\r\n";
    const Parsed r = parse(in, 0);
    EXPECT_EQ(r.error, "upstream response: more than 32 informational (1xx) responses");
}

TEST(UpstreamResponseParser, SwitchingProtocolsHandsOverTheRestOfTheBytes) {
    const std::string in =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        "\x81\x02hi";
    for (size_t step : kSteps) {
        SCOPED_TRACE(step);
        const Parsed r = parse(in, step, {.upgrade_requested = true});
        EXPECT_EQ(r.error, "");
        EXPECT_EQ(r.rec.events, events({"head 101", "complete"}));
        EXPECT_TRUE(r.rec.head.upgrade);
        EXPECT_EQ(r.leftover, "\x81\x02hi");
        EXPECT_TRUE(r.complete);
        EXPECT_FALSE(r.reusable);
    }
    const Parsed r = parse(in, 0);
    EXPECT_EQ(r.error, "upstream response: 101 Switching Protocols to a request without Upgrade");
}

TEST(UpstreamResponseParser, UpgradeRequestAnsweredNormally) {
    const Parsed r =
        parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno", 0, {.upgrade_requested = true});
    EXPECT_EQ(r.rec.events, events({"head 200", "body", "complete"}));
    EXPECT_FALSE(r.rec.head.upgrade);
    EXPECT_TRUE(r.reusable);
    EXPECT_EQ(r.leftover, "");
}

TEST(UpstreamResponseParser, OversizedHeadIsRefusedBeforeItIsAllRead) {
    const std::string in = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a') +
                           "\r\nContent-Length: 0\r\n\r\n";
    for (size_t step : kSteps) {
        SCOPED_TRACE(step);
        const Parsed r = parse(in, step);
        EXPECT_EQ(r.error, "upstream response head over 16384 bytes");
        EXPECT_TRUE(r.rec.events.empty());
        if (step == 1) EXPECT_EQ(r.fed_until_error, 16384u + 1);
    }
    // Many small fields count the same way.
    std::string many = "HTTP/1.1 200 OK\r\n";
    while (many.size() < 70 * 1024) many += "X-A: b\r\n";
    EXPECT_EQ(parse(many + "\r\n", 0).error, "upstream response head over 16384 bytes");
    // The limit is the constructor's, and a head of exactly the limit passes.
    const std::string exact = "HTTP/1.1 204 No Content\r\n\r\n";
    EXPECT_EQ(parse(exact, 1, {.max_head = exact.size()}).error, "");
    EXPECT_EQ(parse(exact, 1, {.max_head = exact.size() - 1}).error,
              "upstream response head over " + std::to_string(exact.size() - 1) + " bytes");
}

TEST(UpstreamResponseParser, MalformedResponsesAreRefused) {
    struct Case {
        std::string in;
        const char* why;  // a part of the message
    };
    const Case cases[] = {
        {"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", "bare CR"},
        {"HTTP/1.1 200 OK\r\nX: a\nb: c\r\nContent-Length: 0\r\n\r\n", "bare LF"},
        {"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "bare LF"},
        {"HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n"s, "NUL"},
        {"HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n", "control character"},
        {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", "line folding"},
        {"HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\nContent-Length: 0\r\n\r\n", "line folding"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "Content-Length"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
         "Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd", "Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", "transfer coding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxx", "transfer coding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "transfer coding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n",
         "transfer coding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", "chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
         "chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
         "chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\n",
         "chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
         "chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhelloXX0\r\n\r\n", "CRLF"},
        {"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "upstream response:"},
        {"HTTP/1.1 200 OK\r\n: x\r\n\r\n", "upstream response:"},
        {"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", "upstream response:"},
        {"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", "upstream response:"},
        {"HTTP/1.1 099 Low\r\n\r\n", "status"},
        {"HTTP/1.1 600 High\r\nContent-Length: 0\r\n\r\n", "status"},
        {"HTTP/1.1 20 OK\r\n\r\n", "upstream response:"},
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "upstream response:"},
        {"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "empty line before"},
        {"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", "upstream response:"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
         "Content-Length"},  // refused like nginx does, though RFC 9110 8.6 allows either
    };
    for (const Case& c : cases) {
        for (size_t step : kSteps) {
            SCOPED_TRACE(c.in);
            SCOPED_TRACE(step);
            const Parsed r = parse(c.in, step);
            EXPECT_NE(r.error.find(c.why), std::string::npos) << r.error;
            EXPECT_FALSE(r.complete);
            EXPECT_FALSE(r.reusable);
        }
    }
}

TEST(UpstreamResponseParser, ABadTrailerIsRefused) {
    const std::string in =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n";
    for (size_t step : kSteps) {
        EXPECT_EQ(parse(in, step).error, "upstream response: invalid trailer field");
    }
}

TEST(UpstreamResponseParser, ParsesOneResponseAfterAnotherWithRecycledBuffers) {
    UpstreamResponseParser parser;
    Recorder first;
    parser.begin(&first, false, false);
    ASSERT_TRUE(parser
                    .feed("HTTP/1.1 200 OK\r\nX-Long-Name-Here: a-long-value-that-needs-heap\r\n"
                          "Y: 2\r\nContent-Length: 1\r\n\r\nA")
                    .ok());
    ASSERT_TRUE(parser.reusable());

    Recorder second;
    parser.begin(&second, true, false);
    EXPECT_FALSE(parser.started());
    EXPECT_FALSE(parser.complete());
    ASSERT_TRUE(parser.feed("HTTP/1.1 404 Not Found\r\nZ: s\r\nContent-Length: 9\r\n\r\n").ok());
    EXPECT_EQ(second.events, events({"head 404", "complete"}));
    ASSERT_EQ(second.head.headers.size(), 2u);
    EXPECT_EQ(second.head.headers[0].first, "Z");
    EXPECT_EQ(second.head.headers[0].second, "s");
    EXPECT_EQ(second.head.headers[1].first, "Content-Length");
    EXPECT_EQ(second.head.content_length, 9u);
    EXPECT_TRUE(parser.reusable());

    // A failure does not outlive the next begin().
    Recorder third;
    parser.begin(&third, false, false);
    EXPECT_FALSE(parser.feed("HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n").ok());
    Recorder fourth;
    parser.begin(&fourth, false, false);
    EXPECT_TRUE(parser.feed("HTTP/1.1 204 No Content\r\n\r\n").ok());
    EXPECT_TRUE(parser.reusable());
}

TEST(UpstreamResponseParser, AMovedParserCarriesOn) {
    Recorder rec;
    UpstreamResponseParser first;
    first.begin(&rec, false, false);
    ASSERT_TRUE(first.feed("HTTP/1.1 200 OK\r\nContent-Len").ok());
    UpstreamResponseParser moved(std::move(first));
    ASSERT_TRUE(moved.feed("gth: 2\r\n\r\no").ok());
    UpstreamResponseParser assigned;
    assigned = std::move(moved);
    ASSERT_TRUE(assigned.feed("k").ok());
    EXPECT_EQ(rec.events, events({"head 200", "body", "complete"}));
    EXPECT_EQ(rec.body, "ok");
    EXPECT_TRUE(assigned.reusable());
}

// Wherever the input is split, the parser reports the same: a seeded sweep over split sizes
// for a mix of framings, good and bad.
TEST(UpstreamResponseParser, AnySplitGivesTheSameResult) {
    const std::string inputs[] = {
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
        "\r\nhello world",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\"\r\nhello\r\n6\r\n world"
        "\r\n0\r\nT: x\r\n\r\nstray",
        "HTTP/1.0 200 OK\r\nX: y\r\n\r\nuntil close",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\ntunnel bytes",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    };
    std::mt19937 rng(17);
    for (const std::string& in : inputs) {
        SCOPED_TRACE(in);
        const Parsed whole = parse(in, 0, {.upgrade_requested = true, .close = true});
        for (int round = 0; round < 200; ++round) {
            std::uniform_int_distribution<size_t> size(1, 1 + static_cast<size_t>(round % 20));
            const Parsed split = parse_split(in, [&] { return size(rng); },
                                             {.upgrade_requested = true, .close = true});
            EXPECT_EQ(split.error, whole.error);
            EXPECT_EQ(split.rec.events, whole.rec.events);
            EXPECT_EQ(split.rec.body, whole.rec.body);
            EXPECT_EQ(split.reusable, whole.reusable);
            EXPECT_EQ(split.leftover, whole.leftover);
        }
    }
}

}  // namespace
}  // namespace minid::proxy
