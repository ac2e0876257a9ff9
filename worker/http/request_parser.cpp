// RequestParser: llhttp driven with a pause after each head and after each message, plus the
// checks llhttp's non-strict build leaves out (framing bytes, field names, Host, codings,
// limits). Chunked bodies are framed by ChunkedBody, not llhttp (see chunked_body.hpp).
#include "worker/http/request_parser.hpp"

#include <llhttp.h>

#include <array>

#include "worker/http/ascii.hpp"
#include "worker/http/chunked_body.hpp"
#include "worker/http/head_syntax.hpp"
#include "worker/http/transfer_coding.hpp"

namespace minid::http {

namespace {
constexpr uint32_t kMaxHeaders = 100;
}  // namespace

struct RequestParser::Impl {
    enum class Phase : uint8_t {
        idle,          // nothing of a next request seen yet
        head,          // inside a request head
        head_ready,    // paused after a head; the next execute() continues with its body
        body,          // llhttp reads (and drops) a Content-Length body
        chunked,       // ChunkedBody reads a chunked body while llhttp stays paused
        message_done,  // paused after a message; the next execute() starts the next one
        failed,
    };

    explicit Impl(ParserLimits l) : limits(l) {
        llhttp_init(&parser, HTTP_REQUEST, &settings());
        parser.data = this;
        request.headers = headers.data();
    }

    static const llhttp_settings_t& settings() {
        static const llhttp_settings_t s = [] {
            llhttp_settings_t v;
            llhttp_settings_init(&v);
            v.on_message_begin = on_message_begin;
            v.on_method = on_method;
            v.on_url = on_url;
            v.on_url_complete = on_url_complete;
            v.on_version = on_version;
            v.on_version_complete = on_version_complete;
            v.on_header_field = on_header_field;
            v.on_header_field_complete = on_header_field_complete;
            v.on_header_value = on_header_value;
            v.on_header_value_complete = on_header_value_complete;
            v.on_headers_complete = on_headers_complete;
            v.on_body = on_body;
            v.on_message_complete = on_message_complete;
            return v;
        }();
        return s;
    }

    static Impl& self(llhttp_t* p) noexcept { return *static_cast<Impl*>(p->data); }

    // llhttp callbacks. Returning -1 makes llhttp stop with an error; fail() has recorded ours.
    static int on_message_begin(llhttp_t* p) noexcept {
        self(p).begin_message();
        return 0;
    }
    static int on_method(llhttp_t* p, const char* at, size_t len) noexcept {
        Impl& s = self(p);
        if (s.head_start == nullptr) s.head_start = at;
        return s.append(s.request.method_name, at, len);
    }
    static int on_url(llhttp_t* p, const char* at, size_t len) noexcept {
        Impl& s = self(p);
        return s.append(s.request.target, at, len);
    }
    static int on_url_complete(llhttp_t* p) noexcept {
        self(p).url_complete = true;
        return 0;
    }
    static int on_version(llhttp_t* p, const char* at, size_t len) noexcept {
        Impl& s = self(p);
        return s.append(s.version, at, len);
    }
    static int on_version_complete(llhttp_t* p) noexcept {
        if (p->http_major != 1) return self(p).fail(505, "HTTP major version is not 1");
        return 0;
    }
    static int on_header_field(llhttp_t* p, const char* at, size_t len) noexcept {
        Impl& s = self(p);
        if (!s.field_open) {
            if (s.header_count == kMaxHeaders) return s.fail(431, "too many header fields");
            s.headers[s.header_count++] = Header{};
            s.field_open = true;
        }
        return s.append(s.headers[s.header_count - 1].name, at, len);
    }
    static int on_header_field_complete(llhttp_t* p) noexcept {
        self(p).field_open = false;
        return 0;
    }
    static int on_header_value(llhttp_t* p, const char* at, size_t len) noexcept {
        Impl& s = self(p);
        if (s.header_count == 0) return s.fail(400, "header value without a name");
        return s.append(s.headers[s.header_count - 1].value, at, len);
    }
    static int on_header_value_complete(llhttp_t* p) noexcept {
        Impl& s = self(p);
        if (s.header_count > 0) s.classify(s.headers[s.header_count - 1]);
        return 0;
    }
    static int on_headers_complete(llhttp_t* p) noexcept {
        // The head is checked after the pause, in execute(), where its end position is known.
        self(p).phase = Phase::head_ready;
        return HPE_PAUSED;
    }
    static int on_body(llhttp_t* p, const char* at, size_t len) noexcept {
        // Content-Length bodies: one span per execute() call over contiguous input.
        Impl& s = self(p);
        if (s.body_piece.empty())
            s.body_piece = std::string_view(at, len);
        else
            s.body_piece = std::string_view(s.body_piece.data(), s.body_piece.size() + len);
        return 0;
    }
    static int on_message_complete(llhttp_t* p) noexcept {
        Impl& s = self(p);
        if (s.chunked_body) {
            s.chunked.reset(s.limits.max_body_size, s.limits.max_header_size);
            s.phase = Phase::chunked;
        } else {
            s.phase = Phase::message_done;
        }
        return HPE_PAUSED;
    }

    void begin_message() noexcept {
        request = Request{};
        request.headers = headers.data();
        header_count = 0;
        head_start = nullptr;
        url_complete = false;
        version = {};
        field_open = false;
        chunked_body = false;
        host_count = 0;
        te_count = 0;
        phase = Phase::head;
    }

    int fail(int status, std::string_view reason) noexcept {
        if (error_status == 0) {
            error_status = status;
            error_reason = reason;
        }
        phase = Phase::failed;
        return -1;
    }

    // Spans arrive in pieces when a head straddles reads; the caller keeps the head
    // contiguous, so a continuation starts where the previous piece ended.
    int append(std::string_view& view, const char* at, size_t len) noexcept {
        if (view.data() == nullptr) {
            view = std::string_view(at, len);
        } else if (view.data() + view.size() == at) {
            view = std::string_view(view.data(), view.size() + len);
        } else {
            return fail(400, "request head is not contiguous (obs-fold?)");
        }
        return check_head_size(at + len);
    }

    int check_head_size(const char* end) noexcept {
        if (head_start == nullptr ||
            static_cast<size_t>(end - head_start) <= limits.max_header_size)
            return 0;
        return url_complete ? fail(431, "request header fields too large")
                            : fail(414, "request-target too long");
    }

    void classify(Header& h) noexcept {
        h.value = ascii::trim_ows(h.value);
        const std::string_view n = h.name;
        auto keep_first = [&h](std::string_view& slot) {
            if (slot.data() == nullptr) slot = h.value;
        };
        if (ascii::iequals(n, "host")) {
            ++host_count;
            keep_first(request.host);
        } else if (ascii::iequals(n, "transfer-encoding")) {
            ++te_count;
        } else if (ascii::iequals(n, "expect")) {
            if (ascii::iequals(h.value, "100-continue")) request.expect_continue = true;
        } else if (ascii::iequals(n, "if-none-match")) {
            keep_first(request.if_none_match);
        } else if (ascii::iequals(n, "if-modified-since")) {
            keep_first(request.if_modified_since);
        } else if (ascii::iequals(n, "range")) {
            keep_first(request.range);
        } else if (ascii::iequals(n, "if-range")) {
            keep_first(request.if_range);
        } else if (ascii::iequals(n, "user-agent")) {
            keep_first(request.user_agent);
        } else if (ascii::iequals(n, "referer")) {
            keep_first(request.referer);
        }
    }

    // Runs once the whole head is known (llhttp paused in on_headers_complete), before llhttp
    // looks at the body, so framing decisions made here take effect.
    bool validate_head(const char* end) noexcept {
        const std::string_view head(head_start, static_cast<size_t>(end - head_start));
        if (head.size() > limits.max_header_size) {
            fail(431, "request header fields too large");
            return false;
        }
        if (const std::string_view why = check_head_framing(head); !why.empty()) {
            fail(400, why);
            return false;
        }
        if (!is_valid_target(request.target)) {
            fail(400, "invalid character in request-target");
            return false;
        }
        for (uint32_t i = 0; i < header_count; ++i) {
            if (!ascii::is_token(headers[i].name)) {
                fail(400, "invalid header field name");
                return false;
            }
        }
        // llhttp takes "GET /x" with no version for HTTP/0.9 and goes on to read headers;
        // RFC 9112 3 requires the version, and nothing may be answered as HTTP/0.9.
        if (version.empty()) {
            fail(400, "request line without an HTTP version");
            return false;
        }
        request.version_major = parser.http_major;
        request.version_minor = parser.http_minor;
        if (host_count > 1 || (parser.http_minor >= 1 && host_count == 0)) {
            fail(400, host_count > 1 ? "more than one Host header" : "missing Host header");
            return false;
        }
        switch (parser.method) {
            case HTTP_GET:
                request.method = Method::get;
                break;
            case HTTP_HEAD:
                request.method = Method::head;
                break;
            default:
                request.method = Method::other;
                break;
        }
        request.keep_alive = llhttp_should_keep_alive(&parser) != 0;
        request.header_count = header_count;

        // llhttp does not flag a Transfer-Encoding field with an empty value, and would frame
        // the message by Content-Length or as bodiless; a front end may see it otherwise.
        const bool has_te = (parser.flags & F_TRANSFER_ENCODING) || te_count > 0;
        if (has_te && (parser.flags & F_CONTENT_LENGTH)) {
            fail(400, "Content-Length together with Transfer-Encoding");
            return false;
        }
        if (has_te) {
            const TransferCodingVerdict v = check_transfer_codings(headers.data(), header_count);
            if (v.status != 0) {
                fail(v.status, v.reason);
                return false;
            }
            // llhttp must not read the body: ChunkedBody frames it after on_message_complete.
            parser.flags |= F_SKIPBODY;
            chunked_body = true;
            request.has_body = true;
            // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 makes the framing untrustworthy.
            if (parser.http_minor == 0) request.keep_alive = false;
        } else if (parser.flags & F_CONTENT_LENGTH) {
            if (parser.content_length > limits.max_body_size) {
                fail(413, "Content-Length above the body limit");
                return false;
            }
            request.has_body = parser.content_length > 0;
        }
        // minid never switches protocols: an Upgrade or CONNECT request is an ordinary request.
        parser.upgrade = 0;
        return true;
    }

    Outcome feed_chunked(const char* data, size_t len, size_t offset) noexcept {
        size_t used = 0;
        std::string_view piece;
        switch (chunked.feed(data + offset, len - offset, &used, &piece)) {
            case ChunkedBody::Status::need_more:
                return {Event::need_more, len};
            case ChunkedBody::Status::data:
                return {Event::body, offset + used, piece};
            case ChunkedBody::Status::done:
                phase = Phase::message_done;
                return {Event::message_complete, offset + used};
            case ChunkedBody::Status::error:
                break;
        }
        fail(chunked.error_status(), chunked.error_reason());
        return {Event::error, offset + used};
    }

    void record_llhttp_error(llhttp_errno_t err) noexcept {
        int status = 400;
        const bool well_formed_version = version.size() == 3 && ascii::is_digit(version[0]) &&
                                         version[1] == '.' && ascii::is_digit(version[2]);
        if (err == HPE_INVALID_VERSION && well_formed_version &&
            (version[0] != '1' || version[2] > '1')) {
            status = 505;  // well-formed but unsupported, e.g. HTTP/3.1 or HTTP/1.2
        } else if (err == HPE_INVALID_TRANSFER_ENCODING) {
            status = 501;
        } else if (err == HPE_PAUSED_H2_UPGRADE) {
            status = 505;
        }
        const char* reason = llhttp_get_error_reason(&parser);
        fail(status, reason != nullptr ? std::string_view(reason) : "malformed request");
    }

    Outcome execute(const char* data, size_t len) noexcept {
        if (complete_pending) {
            // The last body piece went out before the message_complete found with it.
            complete_pending = false;
            return {Event::message_complete, 0};
        }
        body_piece = {};
        switch (phase) {
            case Phase::failed:
                return {Event::error, 0};
            case Phase::chunked:
                return feed_chunked(data, len, 0);
            case Phase::head_ready:
                phase = Phase::body;
                break;
            case Phase::message_done:
                phase = Phase::idle;
                // Nothing of the finished request may show up in the next one, even if that one
                // fails before its first byte is taken as a message.
                request = Request{};
                request.headers = headers.data();
                header_count = 0;
                break;
            default:
                break;
        }
        // A paused llhttp returns HPE_PAUSED at once (with a stale error position) until resumed.
        if (llhttp_get_errno(&parser) == HPE_PAUSED) llhttp_resume(&parser);
        size_t offset = 0;
        for (;;) {
            const llhttp_errno_t err = llhttp_execute(&parser, data + offset, len - offset);
            if (err == HPE_OK) {
                // The spans in progress were checked; this also covers the bytes between them.
                if (phase == Phase::head && check_head_size(data + len) != 0) {
                    return {Event::error, len};
                }
                if (phase == Phase::failed) return {Event::error, len};
                if (!body_piece.empty()) return {Event::body, len, body_piece};
                return {Event::need_more, len};
            }
            const auto pos = static_cast<size_t>(llhttp_get_error_pos(&parser) - data);
            if (err == HPE_PAUSED && phase == Phase::head_ready) {
                if (!validate_head(data + pos)) return {Event::error, pos};
                return {Event::head, pos};
            }
            if (err == HPE_PAUSED && phase == Phase::chunked) return feed_chunked(data, len, pos);
            if (err == HPE_PAUSED && phase == Phase::message_done) {
                if (!body_piece.empty()) {
                    complete_pending = true;
                    return {Event::body, pos, body_piece};
                }
                return {Event::message_complete, pos};
            }
            if (err == HPE_PAUSED_UPGRADE) {
                // Not expected (validate_head clears the upgrade flag); keep parsing if it is.
                llhttp_resume_after_upgrade(&parser);
                offset = pos;
                continue;
            }
            if (error_status == 0) record_llhttp_error(err);
            phase = Phase::failed;
            return {Event::error, pos};
        }
    }

    void reset() noexcept {
        llhttp_reset(&parser);
        body_piece = {};
        complete_pending = false;
        begin_message();
        phase = Phase::idle;
        error_status = 0;
        error_reason = {};
    }

    llhttp_t parser{};
    ParserLimits limits;
    Phase phase = Phase::idle;
    Request request;
    std::array<Header, kMaxHeaders> headers{};
    uint32_t header_count = 0;
    const char* head_start = nullptr;  // first byte of the method of the current head
    bool url_complete = false;
    std::string_view version;  // "1.1" of "HTTP/1.1", for telling 505 from 400
    bool field_open = false;
    bool chunked_body = false;
    uint32_t host_count = 0;
    uint32_t te_count = 0;  // Transfer-Encoding fields, empty ones included
    ChunkedBody chunked;
    std::string_view body_piece;    // Content-Length body bytes seen by this execute() call
    bool complete_pending = false;  // message_complete to report on the next call
    int error_status = 0;
    std::string_view error_reason;
};

RequestParser::RequestParser(ParserLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
RequestParser::~RequestParser() = default;

RequestParser::Outcome RequestParser::execute(const char* data, size_t len) {
    return impl_->execute(data, len);
}

const Request& RequestParser::request() const {
    return impl_->request;
}

bool RequestParser::between_messages() const {
    switch (impl_->phase) {
        case Impl::Phase::idle:
        case Impl::Phase::message_done:
            return true;
        case Impl::Phase::head_ready:
            // A request without a body is over once its head is; its message_complete only
            // waits for the caller's next execute() call.
            return !impl_->request.has_body;
        default:
            return false;
    }
}

int RequestParser::error_status() const {
    return impl_->error_status;
}
std::string_view RequestParser::error_reason() const {
    return impl_->error_reason;
}

void RequestParser::reset() {
    impl_->reset();
}

}  // namespace minid::http
