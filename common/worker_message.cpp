// Encoding, decoding and non-blocking send/receive of master<->worker link messages.
#include "common/worker_message.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <vector>

#include "common/log.hpp"

namespace minid::worker_message {

const char* type_name(Type type) {
    switch (type) {
        case Type::ready:
            return "ready";
        case Type::ping:
            return "ping";
        case Type::pong:
            return "pong";
        case Type::session_ticket_keys:
            return "session_ticket_keys";
        case Type::acme_certificates:
            return "acme_certificates";
        case Type::acme_status:
            return "acme_status";
    }
    return "unknown";
}

namespace {
bool known(uint16_t raw) {
    return (raw >= static_cast<uint16_t>(Type::ready) &&
            raw <= static_cast<uint16_t>(Type::session_ticket_keys)) ||
           raw == static_cast<uint16_t>(Type::acme_certificates) ||
           raw == static_cast<uint16_t>(Type::acme_status);
}
}  // namespace

Result<std::string> encode(Type type, std::string_view payload) {
    if (payload.size() > kMaxPayload)
        return make_error(std::string("worker link: ") + type_name(type) + " payload of " +
                          std::to_string(payload.size()) + " bytes is larger than the limit of " +
                          std::to_string(kMaxPayload));
    const auto raw = static_cast<uint16_t>(type);
    std::string out;
    out.reserve(kHeaderSize + payload.size());
    out.push_back(static_cast<char>(raw & 0xff));
    out.push_back(static_cast<char>(raw >> 8));
    out.append(payload);
    return out;
}

Result<Message> decode(std::string_view datagram) {
    if (datagram.size() < kHeaderSize)
        return make_error("worker link: message of " + std::to_string(datagram.size()) +
                          " bytes is shorter than its " + std::to_string(kHeaderSize) +
                          "-byte header");
    const auto raw = static_cast<uint16_t>(static_cast<unsigned char>(datagram[0]) |
                                           static_cast<unsigned char>(datagram[1]) << 8);
    if (!known(raw))
        return make_error("worker link: unknown message type " + std::to_string(raw) +
                          " (the peer speaks another worker protocol)");
    if (datagram.size() - kHeaderSize > kMaxPayload)
        return make_error("worker link: message payload of " +
                          std::to_string(datagram.size() - kHeaderSize) +
                          " bytes is larger than the limit of " + std::to_string(kMaxPayload));
    Message m;
    m.type = static_cast<Type>(raw);
    m.payload.assign(datagram.substr(kHeaderSize));
    return m;
}

std::string encode_u64(uint64_t value) {
    std::string out(8, '\0');
    for (size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    return out;
}

Result<uint64_t> decode_u64(const Message& message) {
    if (message.payload.size() != 8)
        return make_error(std::string("worker link: ") + type_name(message.type) + " payload is " +
                          std::to_string(message.payload.size()) + " bytes, expected 8");
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i)
        v |= static_cast<uint64_t>(static_cast<unsigned char>(message.payload[i])) << (8 * i);
    return v;
}

Status send(int fd, Type type, std::string_view payload) {
    auto datagram = encode(type, payload);
    if (!datagram) return make_error(datagram.error());
    for (;;) {
        ssize_t n = ::send(fd, datagram->data(), datagram->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return make_error(
                sys_error("send", std::string(type_name(type)) + " on the worker link", errno));
        return {};
    }
}

Result<Received> receive(int fd) {
    // One byte more than the largest message, so that MSG_TRUNC also catches a datagram that
    // is exactly one byte too long.
    thread_local std::vector<char> buf(kHeaderSize + kMaxPayload + 1);
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    for (;;) {
        ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        Received r;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return r;
        if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) {
            r.closed = true;
            return r;
        }
        if (n < 0) return make_error(sys_error("recvmsg", "worker link", errno));
        if (n == 0) {  // a zero-length datagram is not a message; EOF is what it means here
            r.closed = true;
            return r;
        }
        if ((msg.msg_flags & MSG_TRUNC) || static_cast<size_t>(n) > buf.size())
            return make_error("worker link: message of " + std::to_string(n) +
                              " bytes is larger than the limit of " +
                              std::to_string(kHeaderSize + kMaxPayload));
        auto m = decode(std::string_view(buf.data(), static_cast<size_t>(n)));
        if (!m) return make_error(m.error());
        r.message = std::move(m).value();
        return r;
    }
}

}  // namespace minid::worker_message
