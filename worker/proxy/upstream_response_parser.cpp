// UpstreamResponseParser: llhttp parses each head and pauses at its end; the body is framed
// here (Content-Length counted, chunked by ChunkedBody) because llhttp's non-strict build lets
// malformed chunk framing through, and a proxy that guesses at framing can be desynchronised.
#include "worker/proxy/upstream_response_parser.hpp"

#include <llhttp.h>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <string>

#include "worker/http/ascii.hpp"
#include "worker/http/chunked_body.hpp"
#include "worker/http/request.hpp"
#include "worker/http/transfer_coding.hpp"
#include "worker/proxy/list_elements.hpp"

namespace minid::proxy {

namespace {

namespace ascii = http::ascii;
using Framing = UpstreamResponseHead::Framing;

// An upstream that sends 1xx responses without end would keep the proxy reading forever.
constexpr int kMaxInformational = 32;

// The head's raw bytes, checked as they stream in: llhttp's non-strict build accepts a bare LF
// or CR, obs-fold and some control characters, which a strict HTTP peer would frame otherwise.
class HeadBytesCheck {
  public:
    void reset() noexcept { prev_ = 0; }

    // Returns why the bytes are malformed, or an empty view.
    std::string_view scan(const char* p, size_t n) noexcept {
        for (size_t i = 0; i < n; ++i) {
            const auto c = static_cast<unsigned char>(p[i]);
            const unsigned char prev = prev_;
            prev_ = c;
            // Most bytes are visible characters after visible characters (0x7f never gets
            // into prev_: it fails below).
            if (c >= 0x20 && c != 0x7f && prev >= 0x20) continue;
            // llhttp skips empty lines before a status line; on a reused connection they are
            // the tail of an earlier, misframed response.
            if (prev == 0 && (c == '\r' || c == '\n')) return "empty line before the status line";
            if (prev == '\r' && c != '\n') return "bare CR in the head";
            if (c >= 0x20 && c != 0x7f) {
                if (prev == '\n' && c == ' ') return "obsolete line folding in the head";
                continue;
            }
            if (c == '\n') {
                if (prev != '\r') return "bare LF in the head";
            } else if (c == '\t') {
                if (prev == '\n') return "obsolete line folding in the head";
            } else if (c != '\r') {
                return "control character (NUL or other) in the head";
            }
        }
        return {};
    }

  private:
    unsigned char prev_ = 0;
};

void trim_ows_in_place(std::string& s) {
    const std::string_view t = ascii::trim_ows(s);
    if (t.size() == s.size()) return;
    const auto start = static_cast<size_t>(t.data() - s.data());
    const size_t len = t.size();
    s.erase(0, start);
    s.resize(len);
}

}  // namespace

struct UpstreamResponseParser::Impl {
    enum class Phase : uint8_t {
        unset,        // begin() not called yet
        head,         // reading a head (a final or an informational one)
        length,       // Content-Length body
        chunked,      // chunked body, framed by ChunkedBody
        until_close,  // body delimited by the upstream closing
        complete,     // the message is over; later bytes are stray (or the tunnel's)
        failed,
    };

    explicit Impl(size_t max_head) : max_head_bytes(max_head) {
        llhttp_init(&parser, HTTP_RESPONSE, &settings());
        parser.data = this;
    }

    static const llhttp_settings_t& settings() {
        static const llhttp_settings_t s = [] {
            llhttp_settings_t v;
            llhttp_settings_init(&v);
            v.on_version = on_version;
            v.on_version_complete = on_version_complete;
            v.on_status = on_status;
            v.on_header_field = on_header_field;
            v.on_header_field_complete = on_header_field_complete;
            v.on_header_value = on_header_value;
            v.on_header_value_complete = on_header_value_complete;
            v.on_headers_complete = on_headers_complete;
            return v;
        }();
        return s;
    }

    static Impl& self(llhttp_t* p) noexcept { return *static_cast<Impl*>(p->data); }

    // llhttp callbacks. Returning -1 stops llhttp with an error; fail() has recorded ours.
    static int on_version(llhttp_t* p, const char* at, size_t len) noexcept {
        return self(p).count_head(at, len);
    }
    static int on_version_complete(llhttp_t* p) noexcept {
        if (p->http_major != 1 || p->http_minor > 1) {
            return self(p).fail("upstream response: HTTP version is not 1.0 or 1.1");
        }
        return 0;
    }
    static int on_status(llhttp_t* p, const char* at, size_t len) noexcept {
        return self(p).count_head(at, len);
    }
    static int on_header_field(llhttp_t* p, const char* at, size_t len) noexcept {
        Impl& s = self(p);
        if (!s.field_open) {
            s.field_open = true;
            s.open_header();
        }
        if (s.count_head(at, len) != 0) return -1;
        s.head.headers.back().first.append(at, len);
        return 0;
    }
    static int on_header_field_complete(llhttp_t* p) noexcept {
        self(p).field_open = false;
        return 0;
    }
    static int on_header_value(llhttp_t* p, const char* at, size_t len) noexcept {
        Impl& s = self(p);
        if (s.head.headers.empty()) return s.fail("upstream response: header value without a name");
        if (s.count_head(at, len) != 0) return -1;
        s.head.headers.back().second.append(at, len);
        return 0;
    }
    static int on_header_value_complete(llhttp_t* p) noexcept {
        Impl& s = self(p);
        if (!s.head.headers.empty()) s.classify(s.head.headers.back());
        return 0;
    }
    static int on_headers_complete(llhttp_t*) noexcept {
        // The head is checked in feed(), where its end is known; llhttp never reads a body.
        return HPE_PAUSED;
    }

    int fail(std::string message) {
        if (phase != Phase::failed) {
            error = std::move(message);
            phase = Phase::failed;
        }
        return -1;
    }

    std::string head_too_large() const {
        return "upstream response head over " + std::to_string(max_head_bytes) + " bytes";
    }

    // Bounds the head while it streams in, before its spans are copied.
    int count_head(const char* at, size_t len) {
        const auto upto = static_cast<size_t>(at + len - chunk);
        return head_bytes + upto > max_head_bytes ? fail(head_too_large()) : 0;
    }

    // Header strings are recycled between responses so that a steady stream of responses
    // stops allocating once the longest head seen has been held.
    void open_header() {
        if (spare.empty()) {
            head.headers.emplace_back();
            return;
        }
        head.headers.push_back(std::move(spare.back()));
        spare.pop_back();
        head.headers.back().first.clear();
        head.headers.back().second.clear();
    }

    void start_head() {
        for (auto& h : head.headers) spare.push_back(std::move(h));
        head.headers.clear();
        head.status = 0;
        head.version_minor = 1;
        head.framing = Framing::none;
        head.content_length = 0;
        head.has_content_length = false;
        head.keep_alive = true;
        head.upgrade = false;
        llhttp_reset(&parser);
        bytes_check.reset();
        head_bytes = 0;
        field_open = false;
        cl_count = 0;
        te_count = 0;
        conn_close = conn_keep_alive = false;
        cl_differs = false;
        phase = Phase::head;
    }

    void classify(std::pair<std::string, std::string>& h) {
        trim_ows_in_place(h.second);
        const std::string_view name = h.first;
        const std::string_view value = h.second;
        if (ascii::iequals(name, "content-length")) {
            uint64_t v = 0;
            if (!ascii::parse_decimal(value, &v)) v = UINT64_MAX;  // llhttp refuses it anyway
            if (cl_count++ > 0 && v != head.content_length) cl_differs = true;
            head.content_length = v;
        } else if (ascii::iequals(name, "transfer-encoding")) {
            ++te_count;
        } else if (ascii::iequals(name, "connection")) {
            for_each_list_element(value, [this](std::string_view token) {
                if (ascii::iequals(token, "close")) conn_close = true;
                if (ascii::iequals(token, "keep-alive")) conn_keep_alive = true;
            });
        }
    }

    // What is wrong with the complete head (empty: nothing), and its framing.
    std::string_view check_head() {
        for (const auto& h : head.headers) {
            if (!ascii::is_token(h.first)) return "invalid header field name";
        }
        head.status = parser.status_code;
        head.version_minor = parser.http_minor;
        if (head.status < 100 || head.status > 599) return "status code out of range";
        if (cl_differs) return "differing Content-Length values";
        if (cl_count > 0 && te_count > 0) return "Content-Length together with Transfer-Encoding";
        if (te_count > 0) {
            te_fields.clear();
            for (const auto& h : head.headers) {
                if (ascii::iequals(h.first, "transfer-encoding"))
                    te_fields.push_back({h.first, h.second});
            }
            const http::TransferCodingVerdict v = http::check_transfer_codings(
                te_fields.data(), static_cast<uint32_t>(te_fields.size()));
            if (v.status != 0) return v.reason;
        }
        head.has_content_length = cl_count > 0;
        head.keep_alive = head.version_minor >= 1 ? !conn_close : conn_keep_alive && !conn_close;
        const bool no_body =
            head_request || head.status < 200 || head.status == 204 || head.status == 304;
        if (no_body) {
            head.framing = Framing::none;
        } else if (te_count > 0) {
            head.framing = Framing::chunked;
            // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 makes the framing untrustworthy.
            if (head.version_minor == 0) head.keep_alive = false;
        } else if (cl_count > 0) {
            head.framing = Framing::content_length;
        } else {
            head.framing = Framing::until_close;
            head.keep_alive = false;
        }
        return {};
    }

    // Parses head bytes from the start of `data`; returns how many were used (all of them
    // unless the head ended inside), or -1 after fail().
    ptrdiff_t parse_head(std::string_view data) {
        chunk = data.data();
        if (llhttp_get_errno(&parser) == HPE_PAUSED) llhttp_resume(&parser);
        const llhttp_errno_t err = llhttp_execute(&parser, data.data(), data.size());
        const size_t used = err == HPE_OK
                                ? data.size()
                                : static_cast<size_t>(llhttp_get_error_pos(&parser) - data.data());
        // After an error, the byte llhttp stopped at is checked too: it is usually the culprit.
        const size_t scan =
            err == HPE_OK || err == HPE_PAUSED ? used : std::min(used + 1, data.size());
        if (const std::string_view why = bytes_check.scan(data.data(), scan); !why.empty()) {
            // The byte-level reason is more useful than whatever llhttp made of those bytes.
            phase = Phase::head;
            fail("upstream response: " + std::string(why));
            return -1;
        }
        if (phase == Phase::failed) return -1;
        if (err != HPE_OK && err != HPE_PAUSED) {
            const char* reason = llhttp_get_error_reason(&parser);
            fail("upstream response: " + std::string(reason != nullptr ? reason : "malformed"));
            return -1;
        }
        head_bytes += used;
        if (head_bytes > max_head_bytes) {
            fail(head_too_large());
            return -1;
        }
        if (err == HPE_OK) return static_cast<ptrdiff_t>(used);
        if (const std::string_view why = check_head(); !why.empty()) {
            fail("upstream response: " + std::string(why));
            return -1;
        }
        on_head_done();
        return static_cast<ptrdiff_t>(used);
    }

    void on_head_done() {
        if (head.status == 101) {
            if (!upgrade_requested) {
                fail("upstream response: 101 Switching Protocols to a request without Upgrade");
                return;
            }
            head.upgrade = true;
            sink->on_head(head);
            complete();
            return;
        }
        if (head.status < 200) {
            if (++informational > kMaxInformational) {
                fail("upstream response: more than " + std::to_string(kMaxInformational) +
                     " informational (1xx) responses");
                return;
            }
            sink->on_informational(head);
            start_head();
            return;
        }
        sink->on_head(head);
        switch (head.framing) {
            case Framing::none:
                complete();
                break;
            case Framing::content_length:
                remaining = head.content_length;
                phase = Phase::length;
                if (remaining == 0) complete();
                break;
            case Framing::chunked:
                chunked.reset(UINT64_MAX, max_head_bytes);
                phase = Phase::chunked;
                break;
            case Framing::until_close:
                phase = Phase::until_close;
                break;
        }
    }

    void complete() {
        phase = Phase::complete;
        sink->on_complete();
    }

    // Body bytes from the start of `data`; returns how many were used, or -1 after fail().
    ptrdiff_t parse_body(std::string_view data) {
        switch (phase) {
            case Phase::length: {
                const auto take = static_cast<size_t>(std::min<uint64_t>(remaining, data.size()));
                remaining -= take;
                sink->on_body(data.substr(0, take));
                if (remaining == 0) complete();
                return static_cast<ptrdiff_t>(take);
            }
            case Phase::chunked: {
                size_t used = 0;
                std::string_view piece;
                switch (chunked.feed(data.data(), data.size(), &used, &piece)) {
                    case http::ChunkedBody::Status::data:
                        sink->on_body(piece);
                        break;
                    case http::ChunkedBody::Status::done:
                        complete();
                        break;
                    case http::ChunkedBody::Status::need_more:
                        break;
                    case http::ChunkedBody::Status::error:
                        fail("upstream response: " + std::string(chunked.error_reason()));
                        return -1;
                }
                return static_cast<ptrdiff_t>(used);
            }
            case Phase::until_close:
                sink->on_body(data);
                return static_cast<ptrdiff_t>(data.size());
            default:
                // complete: stray bytes, or the tunnel's first bytes after a 101.
                if (head.upgrade) {
                    upgrade_leftover.append(data);
                } else {
                    stray = true;
                }
                return static_cast<ptrdiff_t>(data.size());
        }
    }

    Status feed(std::string_view data) {
        assert(phase != Phase::unset && "feed() before begin()");
        if (phase == Phase::unset) fail("upstream response parser fed before begin()");
        if (!data.empty()) started = true;
        while (!data.empty() && phase != Phase::failed) {
            const ptrdiff_t used = phase == Phase::head ? parse_head(data) : parse_body(data);
            if (used < 0) break;
            data.remove_prefix(static_cast<size_t>(used));
        }
        if (phase == Phase::failed) return make_error(error);
        return {};
    }

    Status finish() {
        switch (phase) {
            case Phase::complete:
                return {};
            case Phase::until_close:
                complete();
                return {};
            case Phase::failed:
                return make_error(error);
            case Phase::head:
                if (!started) {
                    fail("upstream closed the connection before sending a response");
                    return make_error(error);
                }
                break;
            default:
                break;
        }
        fail("upstream closed before the response was complete");
        return make_error(error);
    }

    llhttp_t parser{};
    const size_t max_head_bytes;
    Phase phase = Phase::unset;
    Sink* sink = nullptr;
    bool head_request = false;
    bool upgrade_requested = false;
    UpstreamResponseHead head;
    std::vector<std::pair<std::string, std::string>> spare;  // recycled header strings
    std::vector<http::Header> te_fields;                     // for check_transfer_codings
    HeadBytesCheck bytes_check;
    const char* chunk = nullptr;  // start of the input of the current llhttp_execute()
    size_t head_bytes = 0;        // bytes of the current head in earlier calls
    bool field_open = false;
    uint32_t cl_count = 0;
    uint32_t te_count = 0;
    bool cl_differs = false;
    bool conn_close = false;
    bool conn_keep_alive = false;
    int informational = 0;
    uint64_t remaining = 0;  // Content-Length body bytes still to come
    http::ChunkedBody chunked;
    bool started = false;
    bool stray = false;
    std::string upgrade_leftover;
    std::string error;
};

UpstreamResponseParser::UpstreamResponseParser(size_t max_head_bytes)
    : impl_(std::make_unique<Impl>(max_head_bytes)) {}
UpstreamResponseParser::~UpstreamResponseParser() = default;
// llhttp's back pointer is to the Impl, which stays where it is on the heap.
UpstreamResponseParser::UpstreamResponseParser(UpstreamResponseParser&&) noexcept = default;
UpstreamResponseParser& UpstreamResponseParser::operator=(UpstreamResponseParser&&) noexcept =
    default;

void UpstreamResponseParser::begin(Sink* sink, bool head_request, bool upgrade_requested) {
    Impl& s = *impl_;
    s.sink = sink;
    s.head_request = head_request;
    s.upgrade_requested = upgrade_requested;
    s.informational = 0;
    s.remaining = 0;
    s.started = false;
    s.stray = false;
    s.upgrade_leftover.clear();
    s.error.clear();
    s.start_head();
}

Status UpstreamResponseParser::feed(std::string_view data) {
    return impl_->feed(data);
}

Status UpstreamResponseParser::finish() {
    return impl_->finish();
}

bool UpstreamResponseParser::complete() const {
    return impl_->phase == Impl::Phase::complete;
}

bool UpstreamResponseParser::started() const {
    return impl_->started;
}

bool UpstreamResponseParser::reusable() const {
    const Impl& s = *impl_;
    return s.phase == Impl::Phase::complete && s.head.keep_alive && !s.stray && !s.head.upgrade &&
           s.head.framing != Framing::until_close;
}

std::string UpstreamResponseParser::take_upgrade_leftover() {
    return std::exchange(impl_->upgrade_leftover, std::string());
}

}  // namespace minid::proxy
