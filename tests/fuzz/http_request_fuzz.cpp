// Fuzz target: the HTTP request layer as the worker drives it, without sockets. Bytes go into
// a RequestParser in random-sized pieces through a buffer managed exactly like Connection's;
// each head is answered by a StaticHandler on a small temp root, each error by handler.error().
// Input: byte 0 seeds the piece sizes, byte 1 picks keep-alive/draining, the rest is the stream.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_site.hpp"
#include "worker/http/http1_serializer.hpp"
#include "worker/http/request_parser.hpp"
#include "worker/http/static_handler.hpp"

namespace {

using minid::fuzz::FuzzSite;
using minid::fuzz::has_canary;
using namespace minid::http;

constexpr uint32_t kMaxHeader = 1024;
constexpr uint64_t kMaxBody = 4096;
// Connection sizes its buffers to hold more than max_header_size (see RequestParser::execute).
constexpr size_t kBufferSize = kMaxHeader + 1024;
constexpr std::time_t kNow = 1700000000;

StaticHandler& handler() {
    static std::unique_ptr<StaticHandler> h = [] {
        FileCacheLimits limits;
        limits.max_entries = 4;  // fewer than the files, so eviction and reopening run too
        limits.max_open_files = 2;
        limits.max_file_in_memory = 64;  // big.bin (300 bytes) goes out by fd
        auto r = StaticHandler::create(SiteConfig{FuzzSite::get().root(), "index.html", "minid"},
                                       limits);
        if (!r) minid::fuzz::fail("StaticHandler::create");
        return std::move(r).value();
    }();
    return *h;
}

// Deterministic piece sizes from one seed byte (xorshift), biased towards small pieces.
class Pieces {
  public:
    explicit Pieces(uint8_t seed) : s_(0x9e3779b9u ^ (static_cast<uint32_t>(seed) * 2654435761u)) {}
    size_t next(size_t max) {
        s_ ^= s_ << 13;
        s_ ^= s_ >> 17;
        s_ ^= s_ << 5;
        const size_t cap = (s_ & 3) == 0 ? max : std::min<size_t>(max, 1 + (s_ >> 8) % 16);
        return 1 + (s_ >> 4) % cap;
    }

  private:
    uint32_t s_;
};

bool inside(std::string_view v, const char* lo, const char* hi) {
    return v.data() == nullptr || (v.data() >= lo && v.data() + v.size() <= hi);
}

void check_views(const Request& req, const char* lo, const char* hi) {
    MINID_FUZZ_CHECK(inside(req.method_name, lo, hi));
    MINID_FUZZ_CHECK(inside(req.target, lo, hi));
    MINID_FUZZ_CHECK(inside(req.host, lo, hi));
    MINID_FUZZ_CHECK(inside(req.if_none_match, lo, hi));
    MINID_FUZZ_CHECK(inside(req.if_modified_since, lo, hi));
    MINID_FUZZ_CHECK(inside(req.range, lo, hi));
    MINID_FUZZ_CHECK(inside(req.if_range, lo, hi));
    MINID_FUZZ_CHECK(inside(req.user_agent, lo, hi));
    MINID_FUZZ_CHECK(inside(req.referer, lo, hi));
    MINID_FUZZ_CHECK(req.header_count <= 100);
    for (uint32_t i = 0; i < req.header_count; ++i) {
        MINID_FUZZ_CHECK(inside(req.headers[i].name, lo, hi));
        MINID_FUZZ_CHECK(inside(req.headers[i].value, lo, hi));
        MINID_FUZZ_CHECK(!req.headers[i].name.empty());
    }
    MINID_FUZZ_CHECK(!req.method_name.empty());
    MINID_FUZZ_CHECK(!req.target.empty());
    MINID_FUZZ_CHECK(req.version_major == 1 && req.version_minor <= 1);
}

// The value of header `name` in a serialized head, or npos-marked empty when absent.
bool find_field(const std::string& head, std::string_view name, std::string_view* value) {
    const std::string key = "\r\n" + std::string(name) + ": ";
    const size_t at = head.find(key);
    if (at == std::string::npos) return false;
    const size_t start = at + key.size();
    *value = std::string_view(head).substr(start, head.find("\r\n", start) - start);
    return true;
}

// `echo_ok`: the input itself holds the canary text, and a head may legitimately echo input
// (a redirect's Location repeats the query), so only bodies are checked for it then.
// `h` is the head as the session serializes it, `close` whether the connection ends after it.
void check_response(const Response& r, const std::string& h, bool close, bool head_only,
                    bool echo_ok) {
    MINID_FUZZ_CHECK(h.size() >= 17 && h.compare(0, 9, "HTTP/1.1 ") == 0);
    MINID_FUZZ_CHECK(h.compare(h.size() - 4, 4, "\r\n\r\n") == 0);
    MINID_FUZZ_CHECK(r.status() >= 200 && r.status() <= 599);
    MINID_FUZZ_CHECK(std::stoi(h.substr(9, 3)) == r.status());
    // A response head never carries a bare CR/LF or a control byte: no response splitting.
    for (size_t i = 0; i < h.size(); ++i) {
        const auto c = static_cast<unsigned char>(h[i]);
        if (c == '\r') MINID_FUZZ_CHECK(i + 1 < h.size() && h[i + 1] == '\n');
        if (c == '\n') MINID_FUZZ_CHECK(i > 0 && h[i - 1] == '\r');
        MINID_FUZZ_CHECK(c >= 0x20 || c == '\r' || c == '\n');
    }
    if (!echo_ok) MINID_FUZZ_CHECK(!has_canary(h));
    std::string_view cl;
    if (r.status() == 304) {
        MINID_FUZZ_CHECK(r.body_length == 0 && r.body_kind == Response::BodyKind::none);
    } else {
        MINID_FUZZ_CHECK(find_field(h, "Content-Length", &cl));
        MINID_FUZZ_CHECK(std::to_string(head_only ? std::stoull(std::string(cl)) : r.body_length) ==
                         cl);
    }
    if (head_only) MINID_FUZZ_CHECK(r.body_length == 0);
    std::string_view conn;
    MINID_FUZZ_CHECK(close == (find_field(h, "Connection", &conn) && conn == "close"));
    switch (r.body_kind) {
        case Response::BodyKind::none:
            MINID_FUZZ_CHECK(r.body_length == 0);
            break;
        case Response::BodyKind::memory:
            MINID_FUZZ_CHECK(r.memory.size() == r.body_length);
            MINID_FUZZ_CHECK(!has_canary(r.memory));
            break;
        case Response::BodyKind::stream:
            MINID_FUZZ_CHECK(false);  // the static handler never streams
            break;
        case Response::BodyKind::file: {
            MINID_FUZZ_CHECK(r.file != nullptr && r.file->fd);
            MINID_FUZZ_CHECK(r.body_length > 0 && r.file_offset + r.body_length <= r.file->size);
            std::string body(r.body_length, '\0');
            const ssize_t n = ::pread(r.file->fd.get(), body.data(), body.size(),
                                      static_cast<off_t>(r.file_offset));
            MINID_FUZZ_CHECK(n == static_cast<ssize_t>(body.size()));
            MINID_FUZZ_CHECK(!has_canary(body));
            break;
        }
    }
}

bool is_parse_error_status(int s) {
    return s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    handler();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    Pieces pieces(data[0]);
    const bool draining = (data[1] & 1) != 0;
    const char* in = reinterpret_cast<const char*>(data + 2);
    const size_t in_len = size - 2;
    const bool input_has_canary = has_canary(std::string_view(in, in_len));

    static RequestParser parser(ParserLimits{kMaxHeader, kMaxBody});
    parser.reset();
    static Response response;
    static std::string wire;
    // The head as Http1Session writes it; true when the connection ends after it.
    auto serialize = [&](const Request& req, bool keep_alive) {
        const bool keep = keep_alive && !response.close;
        const bool http10 = req.version_major == 1 && req.version_minor == 0;
        write_http1_head(response,
                         !keep    ? Http1Persistence::close
                         : http10 ? Http1Persistence::keep_announce
                                  : Http1Persistence::keep,
                         false, wire);
        return !keep;
    };
    // The heap buffer lets ASan see any read past the bytes actually received.
    auto buf = std::make_unique<char[]>(kBufferSize);
    uint32_t len = 0, fed = 0;
    bool in_body = false, close_after = false, closed = false;
    std::time_t now = kNow;
    size_t pos = 0;

    // Mirrors Http1Session::process_input; returns false once the connection would be closed.
    auto process = [&]() -> bool {
        while (fed < len || in_body) {
            const uint32_t avail = len - fed;
            const auto out = parser.execute(buf.get() + fed, avail);
            MINID_FUZZ_CHECK(out.consumed <= avail);
            fed += static_cast<uint32_t>(out.consumed);
            switch (out.event) {
                case RequestParser::Event::head: {
                    const Request& req = parser.request();
                    check_views(req, buf.get(), buf.get() + len);
                    in_body = true;
                    const bool keep = req.keep_alive && !draining;
                    handler().build(req, now, response);
                    const bool closes = serialize(req, keep);
                    check_response(response, wire, closes, req.method == Method::head,
                                   input_has_canary);
                    if (closes) close_after = true;
                    now += static_cast<std::time_t>(fed % 2);  // sometimes revalidate the cache
                    break;
                }
                case RequestParser::Event::body:
                    MINID_FUZZ_CHECK(in_body && !out.body.empty());
                    MINID_FUZZ_CHECK(out.body.data() >= buf.get() + fed - out.consumed &&
                                     out.body.data() + out.body.size() <= buf.get() + fed);
                    break;
                case RequestParser::Event::message_complete:
                    in_body = false;
                    if (fed < len) std::memmove(buf.get(), buf.get() + fed, len - fed);
                    len -= fed;
                    fed = 0;
                    MINID_FUZZ_CHECK(parser.between_messages());
                    if (close_after) return false;
                    break;
                case RequestParser::Event::need_more:
                    MINID_FUZZ_CHECK(out.consumed == avail);
                    if (in_body) len = fed = 0;
                    return true;
                case RequestParser::Event::error: {
                    const int status = parser.error_status();
                    MINID_FUZZ_CHECK(is_parse_error_status(status));
                    MINID_FUZZ_CHECK(!parser.error_reason().empty());
                    handler().error(status, now, response);
                    MINID_FUZZ_CHECK(response.status() == status && response.close);
                    static const Request kNone{};
                    MINID_FUZZ_CHECK(serialize(kNone, true));
                    check_response(response, wire, true, false, input_has_canary);
                    // Once failed, the parser never yields another request.
                    MINID_FUZZ_CHECK(parser.execute(buf.get(), len).event ==
                                     RequestParser::Event::error);
                    return false;
                }
            }
        }
        return true;
    };

    while (pos < in_len && !closed) {
        // Connection answers 431 here instead; the parser's limits must make it unreachable.
        MINID_FUZZ_CHECK(len < kBufferSize);
        const size_t n = std::min(pieces.next(kBufferSize - len), in_len - pos);
        std::memcpy(buf.get() + len, in + pos, n);
        pos += n;
        len += static_cast<uint32_t>(n);
        if (!process()) closed = true;
    }
    MINID_FUZZ_CHECK(!FuzzSite::get().canary_is_open());
    return 0;
}
