// TunnelRelay: the two-way byte pump of an upgraded connection (WebSocket after a proxied 101).
// Each way reads one buffer from its source and stops reading while that buffer waits for the
// other side to take it (back-pressure). A side's end of input becomes a half-close of the
// other once its buffer is delivered; the tunnel ends when both ways ended, or when either
// side broke.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "worker/http/tunnel_peer.hpp"
#include "worker/io_poller.hpp"
#include "worker/transport/transport.hpp"

namespace minid {

class TunnelRelay final : private IoPoller::Watcher {
  public:
    class Owner {
      public:
        // Bytes relayed since the last call: client to upstream, upstream to client.
        virtual void tunnel_moved(uint64_t from_client, uint64_t to_client) noexcept = 0;
        // Both ways ended (`broken` false), or a side failed. The relay does nothing after.
        virtual void tunnel_ended(bool broken) noexcept = 0;

      protected:
        ~Owner() = default;
    };

    // `client_early`: bytes the client sent after its request head, for the upstream first.
    TunnelRelay(Owner& owner, Transport& client, std::unique_ptr<http::TunnelPeer> upstream,
                std::string_view client_early);
    ~TunnelRelay();
    TunnelRelay(const TunnelRelay&) = delete;
    TunnelRelay& operator=(const TunnelRelay&) = delete;

    // Moves what can move now and sets what each side waits for.
    void start() { pump(); }
    // Readiness of the client's transport (forwarded by the session).
    void on_client_io(uint32_t events) noexcept;
    // Ends the relay now: the upstream side is closed, events are ignored from now on.
    void stop();
    // Waiting to read from the client (the session then looks for TLS-buffered input).
    bool reads_client() const { return !up_.eof && up_.pending() == 0; }
    uint64_t idle_timeout_ms() const { return upstream_->idle_timeout_ms; }

  private:
    struct Way {
        Transport* from;
        Transport* to;
        std::string data;  // read from `from`, not yet all written to `to`
        size_t off = 0;
        bool eof = false;    // `from` finished sending
        bool shut = false;   // `to` was half-closed after the rest of data
        uint64_t moved = 0;  // bytes written to `to` since the owner was told
        size_t pending() const { return data.size() - off; }
    };
    enum class Step : uint8_t { open, broken };

    void on_io(uint32_t events) noexcept override;  // the upstream's readiness
    void pump();
    Step move(Way& w);
    static Transport::Want want_of(const Way& reading, const Way& writing);

    Owner& owner_;
    Transport& client_;
    std::unique_ptr<http::TunnelPeer> upstream_;
    Way up_;    // client -> upstream
    Way down_;  // upstream -> client
    bool stopped_ = false;
    bool pumping_ = false;
};

}  // namespace minid
