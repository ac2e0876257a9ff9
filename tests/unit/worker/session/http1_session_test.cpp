// Tests for Http1Session over a fake transport: partial writes, EAGAIN both ways, the peer
// closing mid-response, pipelining, deferred close, a handler that answers later, one that is
// cancelled because the client left, streamed bodies and request bodies.
#include "worker/session/http1_session.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <memory>
#include <string>

#include "tests/unit/worker/http/temp_tree.hpp"
#include "tests/unit/worker/session/fake_transport.hpp"
#include "worker/server.hpp"

namespace minid {
namespace {

using testing::FakeTransport;
using Want = Transport::Want;
using State = Http1Session::State;

constexpr std::string_view kGet = "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n";

// A handler the test drives: it keeps the exchange and answers when told.
class LaterHandler final : public http::Handler, public http::Exchange::Producer {
  public:
    void handle(http::Exchange& ex) override {
        exchange = &ex;
        target = std::string(ex.request().target);
        ex.set_producer(this);
    }
    void proceed(http::Exchange&) noexcept override { ++proceeds; }
    void cancel(http::Exchange&) noexcept override {
        cancelled = true;
        exchange = nullptr;
    }
    void answer(int status, std::string_view body) {
        http::Response& r = exchange->response();
        r.reset(status);
        r.head.field("Content-Length", body.size());
        r.body_kind = http::Response::BodyKind::memory;
        r.memory = body;
        r.body_length = body.size();
        exchange->respond();
    }

    http::Exchange* exchange = nullptr;
    std::string target;
    int proceeds = 0;
    bool cancelled = false;
};

// Collects the request body it is given.
class BodyHandler final : public http::Handler, public http::Exchange::BodyReader {
  public:
    void handle(http::Exchange& ex) override { ex.set_body_reader(this); }
    void on_request_body(http::Exchange& ex, std::string_view data, bool last) noexcept override {
        body.append(data);
        if (!last) return;
        ended = true;
        http::Response& r = ex.response();
        r.reset(201);
        r.head.field("Content-Length", uint64_t{0});
        ex.respond();
    }
    std::string body;
    bool ended = false;
};

class SessionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        tree_.write("www/hello.txt", "Hello, world!");
        tree_.write("www/big.bin", std::string(200'000, 'b'));
    }
    void TearDown() override {
        server_.reset();
        uv_run(&loop_, UV_RUN_NOWAIT);  // the server's timers finish closing
        EXPECT_EQ(uv_loop_close(&loop_), 0);
    }

    void make_server(http::Handler* handler = nullptr) {
        ServerOptions o;
        o.config.root = tree_.path("www");
        o.config.access_log = "off";
        o.config.busy_poll = std::chrono::microseconds{0};
        o.handler_override = handler;
        auto s = Server::create(&loop_, std::move(o));
        ASSERT_TRUE(s.ok()) << s.error();
        server_ = std::move(s).value();
    }

    // A session on a fake transport whose peer already sent `input`.
    Http1Session& open(std::string_view input, bool data_expected = true) {
        if (!server_) make_server();
        rec_.input = std::string(input);
        sockaddr_storage peer{};
        peer.ss_family = AF_INET;
        Http1Session& s = server_->add_session(peer);
        s.set_transport(std::make_unique<FakeTransport>(rec_));
        s.start(data_expected);
        return s;
    }

    // Responses in `rec_.written`, as status codes.
    std::vector<int> statuses() const {
        std::vector<int> out;
        for (size_t at = rec_.written.find("HTTP/1.1 "); at != std::string::npos;
             at = rec_.written.find("HTTP/1.1 ", at + 1))
            out.push_back(std::stoi(rec_.written.substr(at + 9, 3)));
        return out;
    }

    uv_loop_t loop_{};
    minid::http::testing::TempTree tree_;
    std::unique_ptr<Server> server_;
    FakeTransport::Record rec_;
};

TEST_F(SessionTest, AnswersAndWaitsForTheNextRequest) {
    Http1Session& s = open(kGet);
    EXPECT_EQ(statuses(), std::vector<int>{200});
    EXPECT_NE(rec_.written.find("\r\n\r\nHello, world!"), std::string::npos);
    EXPECT_EQ(s.state(), State::reading_head);
    EXPECT_EQ(rec_.want, Want::read);  // EAGAIN on read: waits for readability
}

TEST_F(SessionTest, PartialWritesFinishOnWritability) {
    rec_.room = 10;
    Http1Session& s = open(kGet);
    EXPECT_EQ(s.state(), State::writing);
    EXPECT_EQ(rec_.want, Want::write);
    for (int i = 0; i < 100 && s.state() == State::writing; ++i) {
        rec_.room = 10;
        s.on_io(EPOLLOUT);
    }
    EXPECT_EQ(s.state(), State::reading_head);
    EXPECT_EQ(rec_.want, Want::read);
    EXPECT_EQ(rec_.written.substr(rec_.written.size() - 13), "Hello, world!");
}

TEST_F(SessionTest, FileBodyOverPartialWrites) {
    rec_.room = 1000;
    Http1Session& s = open("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
    for (int i = 0; i < 1000 && s.state() == State::writing; ++i) {
        rec_.room = 7000;
        s.on_io(EPOLLOUT);
    }
    ASSERT_EQ(s.state(), State::reading_head);
    const size_t body = rec_.written.find("\r\n\r\n") + 4;
    EXPECT_EQ(rec_.written.substr(body), std::string(200'000, 'b'));
}

TEST_F(SessionTest, ALargeFileYieldsTheLoopEvery256KiB) {
    // The socket takes everything, yet one turn sends at most 256 KiB of file: other
    // connections get their turn between the pieces.
    tree_.write("www/1m.bin", std::string(1 << 20, 'm'));
    Http1Session& s = open("GET /1m.bin HTTP/1.1\r\nHost: a\r\n\r\n");
    std::vector<size_t> per_turn{rec_.written.size()};
    while (s.state() == State::writing && per_turn.size() < 10) {
        EXPECT_EQ(rec_.want, Want::write);
        const size_t before = rec_.written.size();
        s.on_io(EPOLLOUT);
        per_turn.push_back(rec_.written.size() - before);
    }
    ASSERT_EQ(s.state(), State::reading_head);
    const size_t head = rec_.written.find("\r\n\r\n") + 4;
    EXPECT_EQ(per_turn, (std::vector<size_t>{head + (256 << 10), 256 << 10, 256 << 10, 256 << 10}));
    EXPECT_EQ(rec_.written.substr(head), std::string(1 << 20, 'm'));
}

TEST_F(SessionTest, PeerClosingMidResponseClosesTheSession) {
    rec_.room = 10;
    Http1Session& s = open(kGet);
    ASSERT_EQ(s.state(), State::writing);
    const uint64_t before = server_->active_sessions();
    rec_.write_error = EPIPE;
    s.on_io(EPOLLOUT);
    // Closed now, freed only at the end of the event batch: the object is still readable here.
    EXPECT_EQ(s.state(), State::closing);
    EXPECT_TRUE(rec_.closed);
    EXPECT_EQ(server_->active_sessions(), before - 1);
}

TEST_F(SessionTest, PipelinedRequestsAreAnsweredInOrder) {
    const std::string two =
        std::string(kGet) + "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n" + std::string(kGet);
    Http1Session& s = open(two);
    EXPECT_EQ(statuses(), (std::vector<int>{200, 404, 200}));
    EXPECT_EQ(s.state(), State::reading_head);
}

TEST_F(SessionTest, PipelinedRequestsWaitForAResponseStuckOnEagain) {
    rec_.room = 0;
    Http1Session& s = open(std::string(kGet) + std::string(kGet));
    EXPECT_EQ(s.state(), State::writing);
    EXPECT_TRUE(statuses().empty());
    rec_.room = SIZE_MAX;
    s.on_io(EPOLLOUT);
    EXPECT_EQ(statuses(), (std::vector<int>{200, 200}));
    EXPECT_EQ(s.state(), State::reading_head);
}

TEST_F(SessionTest, ClientEofAfterAnsweredRequestCloses) {
    rec_.peer_eof = true;
    Http1Session& s = open(kGet);
    EXPECT_EQ(statuses(), std::vector<int>{200});
    s.on_io(EPOLLIN | EPOLLRDHUP);  // the short read emptied the socket; the EOF comes next
    EXPECT_EQ(s.state(), State::closing);
}

TEST_F(SessionTest, HandlerThatAnswersLater) {
    LaterHandler h;
    make_server(&h);
    std::string wire = "GET /later HTTP/1.1\r\nHost: a\r\n\r\n";
    Http1Session& s = open(wire);
    ASSERT_NE(h.exchange, nullptr);
    EXPECT_EQ(s.state(), State::waiting_handler);
    EXPECT_EQ(rec_.want, Want::peer_close) << "read at once (deferred accept): nothing was watched";
    EXPECT_TRUE(rec_.written.empty());
    // The request was copied: the input buffer may be reused, the view stays right.
    EXPECT_EQ(h.exchange->request().target, "/later");
    h.answer(200, "later");
    EXPECT_EQ(statuses(), std::vector<int>{200});
    EXPECT_EQ(rec_.written.substr(rec_.written.size() - 5), "later");
    EXPECT_EQ(s.state(), State::reading_head);
    EXPECT_FALSE(h.cancelled);
    // The next request on the connection keeps the read registration (no epoll_ctl) until
    // something arrives; then only the peer closing is watched.
    EXPECT_EQ(rec_.want, Want::read);
    rec_.input = "GET /again HTTP/1.1\r\nHost: a\r\n\r\n";
    s.on_io(EPOLLIN);
    EXPECT_EQ(s.state(), State::waiting_handler);
    EXPECT_EQ(rec_.want, Want::read);
    s.on_io(EPOLLIN);
    EXPECT_EQ(rec_.want, Want::peer_close);
    EXPECT_EQ(s.state(), State::waiting_handler);
    h.answer(200, "again");
    EXPECT_EQ(statuses(), (std::vector<int>{200, 200}));
}

TEST_F(SessionTest, HandlerIsCancelledWhenTheClientLeaves) {
    LaterHandler h;
    make_server(&h);
    Http1Session& s = open("GET /later HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(s.state(), State::waiting_handler);
    s.on_io(EPOLLRDHUP);
    EXPECT_TRUE(h.cancelled);
    EXPECT_EQ(s.state(), State::closing);
    EXPECT_TRUE(rec_.written.empty());
}

TEST_F(SessionTest, StreamedBodyIsChunkedWithBackPressure) {
    LaterHandler h;
    make_server(&h);
    Http1Session& s = open("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
    http::Response& r = h.exchange->response();
    r.reset(200);
    r.body_kind = http::Response::BodyKind::stream;
    r.body_length = http::Response::kUnknownLength;
    h.exchange->respond();
    EXPECT_EQ(h.proceeds, 1);  // the head went out: the producer's turn
    EXPECT_EQ(s.state(), State::writing);
    EXPECT_EQ(rec_.want, Want::peer_close);
    rec_.room = 3;  // the socket takes only part of the first piece
    h.exchange->write("hello", false);
    EXPECT_EQ(h.proceeds, 1);  // not asked for more until the piece is out
    EXPECT_EQ(rec_.want, Want::write);
    rec_.room = SIZE_MAX;
    s.on_io(EPOLLOUT);
    EXPECT_EQ(h.proceeds, 2);
    h.exchange->write("world", true);
    EXPECT_NE(rec_.written.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    const size_t body = rec_.written.find("\r\n\r\n") + 4;
    EXPECT_EQ(rec_.written.substr(body), "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
    EXPECT_EQ(s.state(), State::reading_head);
}

TEST_F(SessionTest, RequestBodyReachesTheHandler) {
    BodyHandler h;
    make_server(&h);
    const std::string wire =
        "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
    Http1Session& s = open(wire);
    EXPECT_TRUE(h.ended);
    EXPECT_EQ(h.body, "abcdefg");
    EXPECT_EQ(statuses(), std::vector<int>{201});
    EXPECT_EQ(s.state(), State::reading_head);
}

TEST_F(SessionTest, MalformedBodyGets400BeforeAnyOtherResponse) {
    // The static handler answers a GET at its head; the answer waits for the body, which is
    // broken, so the client sees only the 400.
    Http1Session& s =
        open("GET /hello.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    EXPECT_EQ(statuses(), std::vector<int>{400});
    EXPECT_EQ(s.state(), State::lingering);
    EXPECT_TRUE(rec_.shut_down);
}

TEST_F(SessionTest, BodyArrivingInPiecesHoldsTheResponse) {
    Http1Session& s =
        open("POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc", true);
    EXPECT_EQ(s.state(), State::reading_body);
    EXPECT_TRUE(rec_.written.empty());
    rec_.input = "def";
    s.on_io(EPOLLIN);
    EXPECT_EQ(statuses(), std::vector<int>{405});
    EXPECT_EQ(s.state(), State::reading_head);
}

}  // namespace
}  // namespace minid
