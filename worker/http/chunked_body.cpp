// ChunkedBody: byte-at-a-time chunked framing checks; chunk data is skipped in bulk.
#include "worker/http/chunked_body.hpp"

#include <algorithm>

#include "worker/http/ascii.hpp"

namespace minid::http {

namespace {
// 16 hex digits fill a uint64; more could only be leading zeros or an overflow, and both are
// more plausibly an attack than a client.
constexpr uint8_t kMaxSizeDigits = 16;
}  // namespace

void ChunkedBody::reset(uint64_t max_body, uint64_t max_trailer) noexcept {
    *this = ChunkedBody{};
    max_body_ = max_body;
    max_trailer_ = max_trailer;
}

ChunkedBody::Status ChunkedBody::fail(int status, std::string_view reason) noexcept {
    state_ = State::failed;
    error_status_ = status;
    error_reason_ = reason;
    return Status::error;
}

ChunkedBody::Status ChunkedBody::feed(const char* data, size_t len, size_t* consumed,
                                      std::string_view* piece) noexcept {
    size_t i = 0;
    *consumed = 0;
    if (state_ == State::failed) return Status::error;
    while (i < len && state_ != State::done) {
        const char c = data[i];
        switch (state_) {
            case State::size_first:
            case State::size: {
                const int h = ascii::hex_value(c);
                if (h >= 0) {
                    if (++size_digits_ > kMaxSizeDigits) return fail(400, "chunk size too long");
                    chunk_size_ = chunk_size_ * 16 + static_cast<uint64_t>(h);
                    state_ = State::size;
                } else if (state_ == State::size_first) {
                    return fail(400, "invalid chunk size");
                } else if (c == ';') {
                    state_ = State::ext;
                } else if (ascii::is_ows(c)) {
                    state_ = State::size_bws;
                } else if (c == '\r') {
                    state_ = State::size_lf;
                } else {
                    return fail(400, "invalid chunk size");
                }
                ++i;
                break;
            }
            case State::size_bws:
                if (c == ';') {
                    state_ = State::ext;
                } else if (!ascii::is_ows(c)) {
                    return fail(400, "invalid chunk size");
                }
                ++i;
                break;
            case State::ext:
                // Extensions are ignored; only their characters and quoting are checked so
                // that a CR or LF can never hide inside one.
                if (ext_escape_) {
                    if (!ascii::is_field_value_char(c)) return fail(400, "invalid chunk extension");
                    ext_escape_ = false;
                } else if (ext_in_quotes_) {
                    if (c == '\\') {
                        ext_escape_ = true;
                    } else if (c == '"') {
                        ext_in_quotes_ = false;
                    } else if (!ascii::is_field_value_char(c)) {
                        return fail(400, "invalid chunk extension");
                    }
                } else if (c == '"') {
                    ext_in_quotes_ = true;
                } else if (c == '\r') {
                    state_ = State::size_lf;
                } else if (!ascii::is_tchar(c) && c != ';' && c != '=' && !ascii::is_ows(c)) {
                    return fail(400, "invalid chunk extension");
                }
                ++i;
                break;
            case State::size_lf:
                if (c != '\n') return fail(400, "expected LF after chunk size");
                ++i;
                if (chunk_size_ == 0) {
                    state_ = State::trailer_start;
                } else {
                    if (chunk_size_ > max_body_ - std::min(total_, max_body_)) {
                        return fail(413, "chunked body too large");
                    }
                    total_ += chunk_size_;
                    remaining_ = chunk_size_;
                    state_ = State::data;
                }
                break;
            case State::data: {
                const uint64_t take = std::min<uint64_t>(remaining_, len - i);
                remaining_ -= take;
                const size_t start = i;
                i += static_cast<size_t>(take);
                if (remaining_ == 0) state_ = State::data_cr;
                if (piece != nullptr && take > 0) {
                    *piece = std::string_view(data + start, static_cast<size_t>(take));
                    *consumed = i;
                    return Status::data;
                }
                break;
            }
            case State::data_cr:
                if (c != '\r') return fail(400, "expected CRLF after chunk data");
                ++i;
                state_ = State::data_lf;
                break;
            case State::data_lf:
                if (c != '\n') return fail(400, "expected CRLF after chunk data");
                ++i;
                chunk_size_ = 0;
                size_digits_ = 0;
                state_ = State::size_first;
                break;
            case State::trailer_start:
                if (c == '\r') {
                    state_ = State::final_lf;
                } else if (ascii::is_tchar(c)) {
                    state_ = State::trailer_name;
                } else {
                    return fail(400, "invalid trailer field");  // includes obs-fold
                }
                ++i;
                break;
            case State::trailer_name:
                if (c == ':') {
                    state_ = State::trailer_value;
                } else if (!ascii::is_tchar(c)) {
                    return fail(400, "invalid trailer field name");
                }
                ++i;
                break;
            case State::trailer_value:
                if (c == '\r') {
                    state_ = State::trailer_lf;
                } else if (!ascii::is_field_value_char(c)) {
                    return fail(400, "invalid trailer field value");
                }
                ++i;
                break;
            case State::trailer_lf:
                if (c != '\n') return fail(400, "expected LF after trailer field");
                ++i;
                state_ = State::trailer_start;
                break;
            case State::final_lf:
                if (c != '\n') return fail(400, "expected LF after trailer section");
                ++i;
                state_ = State::done;
                break;
            case State::done:
            case State::failed:
                break;
        }
        if (state_ >= State::trailer_start && state_ <= State::final_lf) {
            // Counted per byte so that an endless trailer line is caught while it streams in.
            if (++trailer_bytes_ > max_trailer_) return fail(431, "trailer section too large");
        }
    }
    *consumed = i;
    return state_ == State::done ? Status::done : Status::need_more;
}

}  // namespace minid::http
