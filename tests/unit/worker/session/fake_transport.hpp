// FakeTransport: a Transport with no socket, for session tests. Input is queued by the test;
// writes take at most `room` bytes per call (0 = would block); everything is recorded.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <string>

#include "worker/transport/transport.hpp"

namespace minid::testing {

class FakeTransport final : public Transport {
  public:
    struct Record {
        std::string input;       // bytes the peer sent and the session has not read yet
        bool peer_eof = false;   // the peer finished sending (after `input`)
        int write_error = 0;     // non-zero: writes fail with this errno
        size_t room = SIZE_MAX;  // bytes the next writes may take in all (0 = would block)
        std::string written;     // bytes the session sent
        bool shut_down = false;
        bool aborted = false;
        bool closed = false;
        Want want = Want::nothing;
        int reads = 0;
    };

    explicit FakeTransport(Record& r) : r_(r) {}

    IoResult read(char* buf, size_t len) override {
        ++r_.reads;
        if (r_.input.empty()) return r_.peer_eof ? IoResult::eof() : IoResult::would_block();
        const size_t n = std::min(len, r_.input.size());
        r_.input.copy(buf, n);
        r_.input.erase(0, n);
        return IoResult::done(n);
    }
    IoResult write(const iovec* iov, int count, bool /*more*/) override {
        if (r_.write_error != 0) return IoResult::failed(r_.write_error);
        size_t total = 0;
        for (int i = 0; i < count && r_.room > 0; ++i) {
            const size_t n = std::min(iov[i].iov_len, r_.room);
            r_.written.append(static_cast<const char*>(iov[i].iov_base), n);
            r_.room -= n;
            total += n;
        }
        return total == 0 ? IoResult::would_block() : IoResult::done(total);
    }
    IoResult send_file(int file_fd, uint64_t offset, size_t len) override {
        if (r_.write_error != 0) return IoResult::failed(r_.write_error);
        const size_t n = std::min(len, r_.room);
        if (n == 0) return IoResult::would_block();
        std::string chunk(n, '\0');
        const ssize_t got = ::pread(file_fd, chunk.data(), n, static_cast<off_t>(offset));
        if (got <= 0) return IoResult::eof();
        r_.written.append(chunk, 0, static_cast<size_t>(got));
        r_.room -= static_cast<size_t>(got);
        return IoResult::done(static_cast<size_t>(got));
    }
    bool shutdown_write() override {
        r_.shut_down = true;
        return true;
    }
    void abort() override { r_.aborted = true; }
    void close() override { r_.closed = true; }
    Status watch(Want want) override {
        r_.want = want;
        return {};
    }
    bool has_buffered_input() const override { return false; }
    uint64_t unsent_bytes() const override { return 0; }

  private:
    Record& r_;
};

}  // namespace minid::testing
