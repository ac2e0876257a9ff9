// ControlConnection: one control-socket client on the master's loop. Frames request lines
// (bounded), answers them strictly one at a time, and cuts idle, flooding or non-reading clients
// so no client can hold up the master.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/control_protocol.hpp"
#include "worker/uv_handle.hpp"

namespace minid {

class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
  public:
    struct Limits {
        uint64_t idle_timeout_ms = 10'000;
        size_t max_request_bytes = 64 * 1024;
        size_t max_pending_output = 8 * 1024 * 1024;
    };
    // Called once per request line; it must call respond() now or defer() and respond() later.
    using RequestHandler = std::function<void(ControlConnection&, const std::string& line)>;
    using ClosedHandler = std::function<void(uint64_t id)>;

    // Accepts the pending connection on `listener`; nullptr (logged) if that fails.
    static std::shared_ptr<ControlConnection> accept(uv_stream_t* listener, uint64_t id,
                                                     Limits limits, RequestHandler on_request,
                                                     ClosedHandler on_closed);
    // Takes over a client whose request (a reload) the previous master image read and
    // deferred; respond() answers it. nullptr (logged) if that fails.
    static std::shared_ptr<ControlConnection> adopt_deferred(uv_loop_t* loop, int fd, uint64_t id,
                                                             Limits limits,
                                                             RequestHandler on_request,
                                                             ClosedHandler on_closed);
    ~ControlConnection() = default;
    ControlConnection(const ControlConnection&) = delete;
    ControlConnection& operator=(const ControlConnection&) = delete;

    // Answers the current request; the next buffered request is handled once this is written.
    void respond(std::string line);
    // The answer comes later (a reload): the idle timeout does not run meanwhile.
    void defer();
    // After the stop answer: keep the connection open, take no more requests, until the master
    // exits and closes it — that close is how minidctl learns the stop has finished.
    void hold_until_close();
    // Sends `line` (an error) and closes once it is written.
    void fail_and_close(std::string line);
    // Closes at once; idempotent. The closed handler runs unless detach() was called.
    void close();
    void detach() { on_closed_ = nullptr; }

    uint64_t id() const { return id_; }
    int fd() const;
    bool closed() const { return closed_; }
    // Peer credentials (SO_PEERCRED) for the log; -1 if unknown.
    pid_t peer_pid() const { return peer_pid_; }
    long peer_uid() const { return peer_uid_; }

    // Private: construction goes through accept(); public only for make_shared.
    ControlConnection(uint64_t id, Limits limits, RequestHandler on_request,
                      ClosedHandler on_closed);

  private:
    struct WriteReq;
    bool start_reading(uv_loop_t* loop);

    void on_read(ssize_t nread, const uv_buf_t* buf);
    void on_written(int status);
    void on_idle_timer();
    void write(std::string line);
    void pump();
    void restart_idle_timer();

    uint64_t id_;
    Limits limits_;
    RequestHandler on_request_;
    ClosedHandler on_closed_;
    UvHandle<uv_pipe_t> pipe_;
    UvHandle<uv_timer_t> idle_timer_;
    control::LineBuffer in_;
    size_t writes_in_flight_ = 0;
    bool awaiting_reply_ = false;  // a request was handed out and not yet answered
    bool deferred_ = false;        // ... and its answer comes later
    bool held_ = false;
    bool close_when_flushed_ = false;
    bool eof_ = false;
    bool closed_ = false;
    bool pumping_ = false;
    pid_t peer_pid_ = -1;
    long peer_uid_ = -1;
};

}  // namespace minid
