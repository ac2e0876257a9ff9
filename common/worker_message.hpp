// Typed messages on the master<->worker link (a SOCK_SEQPACKET socketpair): one datagram is one
// message, a 2-byte type followed by its payload. Part of the worker protocol: adding a type or
// changing a payload bumps build::worker_protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace minid::worker_message {

// Values are on the wire: never reuse or renumber one.
enum class Type : uint16_t {
    ready = 1,  // worker -> master: accepting on every listener; empty payload
    ping = 2,   // master -> worker: are you alive? payload: u64 sequence number
    pong = 3,   // worker -> master: the answer to ping, echoing its sequence number
    // master -> worker: the TLS session-ticket keys, newest first (common/session_ticket_keys.hpp);
    // sent right after spawn and at every rotation, to every generation.
    session_ticket_keys = 4,
    // The ACME agent (a child like the workers, acme/agent.hpp) -> master:
    acme_certificates = 100,  // a certificate in the state directory changed: reload; empty
    acme_status = 101,        // JSON: every managed certificate's state, for minidctl
};

const char* type_name(Type type);

inline constexpr size_t kHeaderSize = 2;
// Room for a binary payload such as a set of TLS session-ticket keys.
inline constexpr size_t kMaxPayload = 64 * 1024;

struct Message {
    Type type = Type::ready;
    std::string payload;
};

// The datagram for a message; an error if the payload is larger than kMaxPayload.
Result<std::string> encode(Type type, std::string_view payload = {});
// One datagram to a message; rejects short datagrams, unknown types and oversized payloads.
Result<Message> decode(std::string_view datagram);

// A u64 payload (ping/pong), little-endian.
std::string encode_u64(uint64_t value);
Result<uint64_t> decode_u64(const Message& message);

// Sends one message without blocking (MSG_DONTWAIT | MSG_NOSIGNAL).
Status send(int fd, Type type, std::string_view payload = {});

// The next datagram on a non-blocking link. `message` is empty when none is waiting; `closed`
// is set at EOF or when the peer is gone. A datagram that cannot be decoded (cut short because
// it was larger than the largest message, or an unknown type) is consumed and reported as an
// error, so the caller can log it and read on.
struct Received {
    std::optional<Message> message;
    bool closed = false;
};
Result<Received> receive(int fd);

}  // namespace minid::worker_message
