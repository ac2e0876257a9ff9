// FakeUpstream: a recording application server for the proxy tests. It listens on a unix socket
// or a loopback port, records every request it reads (head and body), and answers each with
// what the test's responder returns: bytes, pauses between pieces, a close. One thread per
// connection; everything stops and joins in the destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace minid::test {

struct UpstreamRequest {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;  // as received
    std::string body;
    std::string raw_head;
    int connection = 0;  // which accepted connection carried it (1, 2, ...)
    // The first value of a header (case-insensitive name), "" if absent; count() for repeats.
    std::string header(const std::string& name) const;
    size_t count(const std::string& name) const;
};

struct UpstreamReply {
    struct Piece {
        std::chrono::milliseconds delay{0};  // before these bytes go out
        std::string bytes;
    };
    std::vector<Piece> pieces;
    bool close = false;  // close the connection after the last piece

    static UpstreamReply ok(const std::string& body, const std::string& extra_headers = "");
    static UpstreamReply raw(std::string bytes, bool close = false);
};

class FakeUpstream {
  public:
    using Responder = std::function<UpstreamReply(const UpstreamRequest&)>;

    // Listens on `unix_path` if not empty, else on a free loopback port (port()).
    explicit FakeUpstream(Responder responder, const std::string& unix_path = "",
                          uint16_t port = 0);
    ~FakeUpstream();
    FakeUpstream(const FakeUpstream&) = delete;
    FakeUpstream& operator=(const FakeUpstream&) = delete;

    bool listening() const { return listen_fd_ >= 0; }
    uint16_t port() const { return port_; }
    // "unix:/path" or "127.0.0.1:PORT", for server = ...
    std::string address() const;
    // An idle connection is closed after this (0 = never), like Gunicorn's --keep-alive.
    void set_idle_timeout(std::chrono::milliseconds t) { idle_timeout_ms_ = t.count(); }
    // Answer each request as soon as its head is in, without reading its body (an app that says
    // 413 or 401 to an upload). Then the connection closes if the reply says so (a reset, with
    // the body unread), else it stays open and unread until the fake stops.
    void set_answer_before_body(bool on) { answer_before_body_ = on; }

    std::vector<UpstreamRequest> requests() const;
    size_t request_count() const;
    int connections() const { return connections_.load(); }
    // Stops accepting and closes the listener (connections in progress finish).
    void stop_listening();

  private:
    void accept_loop();
    void serve(int fd, int connection);

    Responder responder_;
    std::string unix_path_;
    uint16_t port_ = 0;
    int listen_fd_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::atomic<int64_t> idle_timeout_ms_{0};
    std::atomic<bool> answer_before_body_{false};
    mutable std::mutex mu_;
    std::vector<UpstreamRequest> requests_;
    std::thread acceptor_;
    std::vector<std::thread> workers_;
};

}  // namespace minid::test
