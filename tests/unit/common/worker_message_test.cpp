// Tests for the master<->worker link messages: round trips over a real SOCK_SEQPACKET pair, and
// short, oversized and unknown datagrams rejected with a clear error.
#include "common/worker_message.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.hpp"

namespace minid::worker_message {
namespace {

struct Pair {
    UniqueFd a, b;
    Pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

TEST(WorkerMessage, EncodeDecodeRoundTripsEveryType) {
    for (Type t : {Type::ready, Type::ping, Type::pong, Type::session_ticket_keys}) {
        const std::string payload = t == Type::ready ? "" : encode_u64(0x0102030405060708ull);
        auto wire = encode(t, payload);
        ASSERT_TRUE(wire.ok()) << wire.error();
        EXPECT_EQ(wire->size(), kHeaderSize + payload.size());
        auto back = decode(*wire);
        ASSERT_TRUE(back.ok()) << back.error();
        EXPECT_EQ(back->type, t);
        EXPECT_EQ(back->payload, payload);
    }
}

TEST(WorkerMessage, U64PayloadRoundTripsAndChecksItsSize) {
    for (uint64_t v : {0ull, 1ull, 0xffull, 0xdeadbeefcafef00dull, ~0ull}) {
        Message m{Type::ping, encode_u64(v)};
        auto back = decode_u64(m);
        ASSERT_TRUE(back.ok()) << back.error();
        EXPECT_EQ(*back, v);
    }
    auto bad = decode_u64(Message{Type::pong, "1234567"});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().find("pong payload is 7 bytes, expected 8"), std::string::npos)
        << bad.error();
}

TEST(WorkerMessage, ShortDatagramIsRejected) {
    for (std::string d : {std::string(), std::string("\x01", 1)}) {
        auto m = decode(d);
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.error().find("shorter than its 2-byte header"), std::string::npos) << m.error();
    }
}

TEST(WorkerMessage, UnknownTypeIsRejected) {
    for (uint16_t raw : {0, 5, 0x0100, 0xffff}) {
        std::string d{static_cast<char>(raw & 0xff), static_cast<char>(raw >> 8)};
        auto m = decode(d);
        ASSERT_FALSE(m.ok()) << raw;
        EXPECT_NE(m.error().find("unknown message type " + std::to_string(raw)), std::string::npos)
            << m.error();
    }
}

TEST(WorkerMessage, OversizedPayloadIsRejectedBothWays) {
    const std::string big(kMaxPayload + 1, 'x');
    auto enc = encode(Type::ping, big);
    ASSERT_FALSE(enc.ok());
    EXPECT_NE(enc.error().find("larger than the limit of 65536"), std::string::npos) << enc.error();
    auto dec = decode(std::string("\x02\x00", 2) + big);
    ASSERT_FALSE(dec.ok());
    EXPECT_NE(dec.error().find("larger than the limit"), std::string::npos) << dec.error();
    EXPECT_TRUE(encode(Type::ping, std::string(kMaxPayload, 'x')).ok());
}

TEST(WorkerMessage, SendAndReceiveOverSeqpacket) {
    Pair p;
    ASSERT_TRUE(send(p.a.get(), Type::ready).ok());
    ASSERT_TRUE(send(p.a.get(), Type::ping, encode_u64(42)).ok());
    const std::string largest(kMaxPayload, 'k');
    ASSERT_TRUE(send(p.a.get(), Type::pong, largest).ok());

    auto r1 = receive(p.b.get());
    ASSERT_TRUE(r1.ok()) << r1.error();
    ASSERT_TRUE(r1->message);
    EXPECT_EQ(r1->message->type, Type::ready);
    auto r2 = receive(p.b.get());
    ASSERT_TRUE(r2.ok() && r2->message);
    EXPECT_EQ(r2->message->type, Type::ping);
    EXPECT_EQ(decode_u64(*r2->message).value(), 42u);
    auto r3 = receive(p.b.get());
    ASSERT_TRUE(r3.ok() && r3->message);
    EXPECT_EQ(r3->message->payload, largest) << "one datagram is one whole message";

    auto none = receive(p.b.get());
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->message);
    EXPECT_FALSE(none->closed);

    p.a.reset();
    auto eof = receive(p.b.get());
    ASSERT_TRUE(eof.ok());
    EXPECT_TRUE(eof->closed);
}

TEST(WorkerMessage, ReceiveRejectsTooLongAndGarbledDatagramsAndReadsOn) {
    Pair p;
    const std::string too_long = std::string("\x02\x00", 2) + std::string(kMaxPayload + 10, 'z');
    ASSERT_EQ(::send(p.a.get(), too_long.data(), too_long.size(), 0),
              static_cast<ssize_t>(too_long.size()));
    const std::string unknown("\x09\x00", 2);
    ASSERT_EQ(::send(p.a.get(), unknown.data(), unknown.size(), 0), 2);
    ASSERT_TRUE(send(p.a.get(), Type::ready).ok());

    auto r1 = receive(p.b.get());
    ASSERT_FALSE(r1.ok());
    EXPECT_NE(r1.error().find("larger than the limit"), std::string::npos) << r1.error();
    auto r2 = receive(p.b.get());
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(r2.error().find("unknown message type 9"), std::string::npos) << r2.error();
    auto r3 = receive(p.b.get());
    ASSERT_TRUE(r3.ok() && r3->message) << "the link is still usable";
    EXPECT_EQ(r3->message->type, Type::ready);
}

}  // namespace
}  // namespace minid::worker_message
