// Connection: one client socket, glued to the sans-I/O HTTP layer. It reads into a pooled buffer,
// lets the parser cut requests out of it, writes each response (writev for memory bodies,
// sendfile for files) and closes gracefully.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/unique_fd.hpp"
#include "worker/http/request_parser.hpp"
#include "worker/http/response.hpp"
#include "worker/io_poller.hpp"

namespace minid {

class Server;

class Connection final : private IoPoller::Watcher {
  public:
    // The server links the new connection into its list, then calls start().
    Connection(Server& server, UniqueFd fd, const sockaddr_storage& peer);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Starts serving; may delete the connection. `data_expected`: the listener defers accepts
    // until the client sent data (TCP_DEFER_ACCEPT), so the request is read at once instead of
    // after a round through epoll; a connection answered and closed that way never costs an
    // epoll registration.
    void start(bool data_expected);
    // Called by the server's sweep timer; may delete the connection.
    void check_deadline(uint64_t now_ms);
    // The worker started draining: idle connections get a short grace, then close.
    void on_drain_started();
    // At the connection cap: a keep-alive connection idle for at least `min_idle_ms` starts a
    // graceful close to make room for a waiting client; true if it did.
    bool evict_if_idle(uint64_t now_ms, uint64_t min_idle_ms);
    // Close the socket now and delete this object.
    void close_now();
    // Same, but discard unsent data and reset the connection (for clients cut for slowness).
    void abort_now();

    Connection* next = nullptr;
    Connection* prev = nullptr;

  private:
    enum class State : uint8_t { reading, writing, lingering };

    // Unsent rest of a response whose write hit EAGAIN.
    struct Pending {
        std::string head;
        size_t head_off = 0;
        std::string_view memory;
        std::shared_ptr<const void> memory_owner;
        std::shared_ptr<const http::OpenFile> file;
        uint64_t file_offset = 0;
        uint64_t remaining = 0;  // body bytes still to send
        bool close = false;
    };

    void on_io(uint32_t epoll_events) noexcept override;
    // Reads and serves what arrived; false when the connection was closed (and deleted).
    bool on_readable();
    void on_writable();
    void on_lingering_readable();
    // Parses buffered input and answers complete requests; false when the connection closed.
    bool process_input();
    bool respond();
    bool respond_error(int status);
    // Sends a built response now, keeping what does not fit in pending_; false when closed.
    bool send_response(http::Response& r);
    bool flush_pending();
    // sendfile() until done or the socket is full; false when the connection was closed.
    bool send_file(const http::OpenFile& file, uint64_t& offset, uint64_t& remaining);
    // Keeps reading, or closes; false when the connection was closed (and deleted).
    bool after_response(bool close);
    void begin_lingering_close();
    // Level-triggered interest: EPOLLIN or EPOLLOUT. The first call registers the socket.
    void set_poll(uint32_t events);
    void acquire_input();
    void release_input_if_idle();
    bool idle() const;
    void refresh_deadline();
    // Minimum send rate: each send_timeout-long window of writing must see the client take at
    // least min_send_rate bytes a second, measured by what left the socket's send queue.
    void start_rate_window();
    uint64_t taken_in_rate_window() const;

    Server& server_;
    UniqueFd fd_;
    sockaddr_storage peer_{};

    // Input state, leased from pools only while a request is in progress.
    std::unique_ptr<char[]> buf_;
    std::unique_ptr<http::RequestParser> parser_;
    uint32_t len_ = 0;  // bytes in buf_
    uint32_t fed_ = 0;  // bytes of buf_ the parser has consumed
    bool in_body_ = false;

    std::unique_ptr<Pending> pending_;
    State state_ = State::reading;
    uint32_t poll_events_ = 0;     // 0 until the socket is registered with the poller
    bool socket_drained_ = false;  // the last read left the socket's receive queue empty
    bool peer_eof_ = false;
    bool client_closes_ = false;  // the last request did not ask for keep-alive
    uint64_t last_activity_ms_ = 0;
    uint64_t message_start_ms_ = 0;
    uint64_t deadline_ms_ = 0;
    uint64_t lingering_bytes_ = 0;
    uint64_t rate_window_start_ms_ = 0;
    uint64_t rate_window_sent_ = 0;    // bytes handed to the kernel in this window
    uint64_t rate_window_queued_ = 0;  // bytes in the send queue when the window started
};

}  // namespace minid
