// LoadClient: a strict HTTP load generator for tests. Unlike browsers or Go's client it never
// retries, so every connection the server drops mid-exchange counts as a failure.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace minid::test {

struct LoadResult {
    uint64_t ok = 0;
    uint64_t failed = 0;  // no complete response, wrong status, or wrong body
    uint64_t connect_errors = 0;
    std::vector<std::string> first_errors;  // a few descriptions for the test message
};

class LoadClient {
  public:
    // `keepalive_conns` loop requests on persistent connections (reconnecting only when the
    // server said Connection: close); `fresh_conns` open a new connection per request.
    LoadClient(uint16_t port, std::string target, std::string expected_body, int keepalive_conns,
               int fresh_conns);
    ~LoadClient();
    void start();
    LoadResult stop();
    uint64_t completed() const { return ok_.load(); }

  private:
    void run_keepalive();
    void run_fresh();
    void record_error(const std::string& what);

    uint16_t port_;
    std::string target_;
    std::string expected_;
    int keepalive_;
    int fresh_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> ok_{0}, failed_{0}, connect_errors_{0};
    std::vector<std::thread> threads_;
    std::vector<std::string> errors_;
    std::atomic_flag errors_lock_ = ATOMIC_FLAG_INIT;
};

}  // namespace minid::test
