// UpstreamTunnel: an upstream connection after its 101, as the session's TunnelPeer. It never
// goes back to the pool for reuse: closing it (or destroying it) gives it back as spent, which
// closes the socket and frees its max_connections slot.
#pragma once

#include <memory>

#include "worker/http/tunnel_peer.hpp"
#include "worker/proxy/upstream_connection.hpp"
#include "worker/proxy/upstream_pool.hpp"

namespace minid::proxy {

class UpstreamTunnel final : public http::TunnelPeer, private UpstreamConnection::User {
  public:
    // The pool must outlive the tunnel (the worker's sessions go before its upstreams).
    UpstreamTunnel(UpstreamPool& pool, std::unique_ptr<UpstreamConnection> conn);
    ~UpstreamTunnel() override { close(); }
    UpstreamTunnel(const UpstreamTunnel&) = delete;
    UpstreamTunnel& operator=(const UpstreamTunnel&) = delete;

    void set_watcher(IoPoller::Watcher* w) override { watcher_ = w; }

    IoResult read(char* buf, size_t len) override;
    IoResult write(const iovec* iov, int count, bool more) override;
    IoResult send_file(int file_fd, uint64_t offset, size_t len) override;
    bool shutdown_write() override;
    void abort() override {}
    void close() override;
    Status watch(Want want) override;
    bool has_buffered_input() const override { return false; }
    uint64_t unsent_bytes() const override { return 0; }

  private:
    void on_upstream_io(UpstreamConnection& c, uint32_t events) noexcept override;

    UpstreamPool& pool_;
    std::unique_ptr<UpstreamConnection> conn_;
    IoPoller::Watcher* watcher_ = nullptr;
};

}  // namespace minid::proxy
