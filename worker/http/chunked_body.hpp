// ChunkedBody: a strict reader for the chunked transfer coding (RFC 9112 7.1) that discards
// the data. llhttp's non-strict build accepts any two bytes after chunk data and bare CR/LF in
// the framing, which is a request-smuggling hazard, so minid frames chunked bodies itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace minid::http {

class ChunkedBody {
  public:
    enum class Status { need_more, data, done, error };

    // Starts a new body. `max_body` bounds the summed chunk sizes (413 beyond it),
    // `max_trailer` the bytes of the trailer section (431 beyond it).
    void reset(uint64_t max_body, uint64_t max_trailer) noexcept;

    // Reads framing from data[0, len); `*consumed` is set to the bytes used. After `done`, the
    // bytes past `*consumed` belong to the next request. With `piece`, it stops after each run
    // of chunk data, returns `data` and points *piece at it (within data[0, *consumed));
    // without, chunk data is skipped.
    Status feed(const char* data, size_t len, size_t* consumed,
                std::string_view* piece = nullptr) noexcept;

    uint64_t body_size() const noexcept { return total_; }
    // After Status::error: 400, 413 or 431 and why.
    int error_status() const noexcept { return error_status_; }
    std::string_view error_reason() const noexcept { return error_reason_; }

  private:
    enum class State : uint8_t {
        size_first,     // first hex digit of a chunk size
        size,           // more hex digits, ';', BWS or CR
        size_bws,       // whitespace after the size; only ';' may follow
        ext,            // chunk extension up to CR
        size_lf,        // LF after the size line's CR
        data,           // chunk data
        data_cr,        // CR after chunk data
        data_lf,        // LF after chunk data
        trailer_start,  // start of a trailer line, or CR of the final empty line
        trailer_name,   // field name of a trailer line
        trailer_value,  // the rest of a trailer line up to CR
        trailer_lf,     // LF after a trailer line
        final_lf,       // LF of the final empty line
        done,
        failed,
    };

    Status fail(int status, std::string_view reason) noexcept;

    State state_ = State::size_first;
    uint64_t max_body_ = 0;
    uint64_t max_trailer_ = 0;
    uint64_t total_ = 0;
    uint64_t chunk_size_ = 0;
    uint64_t remaining_ = 0;
    uint64_t trailer_bytes_ = 0;
    uint8_t size_digits_ = 0;
    bool ext_in_quotes_ = false;
    bool ext_escape_ = false;
    int error_status_ = 0;
    std::string_view error_reason_;
};

}  // namespace minid::http
