// UpstreamTunnel: the upstream connection's socket calls, after the 101.
#include "worker/proxy/upstream_tunnel.hpp"

#include <cerrno>

#include "worker/transport/socket_watch.hpp"

namespace minid::proxy {

UpstreamTunnel::UpstreamTunnel(UpstreamPool& pool, std::unique_ptr<UpstreamConnection> conn)
    : pool_(pool), conn_(std::move(conn)) {
    conn_->set_user(this);
}

IoResult UpstreamTunnel::read(char* buf, size_t len) {
    return conn_ ? conn_->read(buf, len) : IoResult::failed(EBADF);
}

IoResult UpstreamTunnel::write(const iovec* iov, int count, bool) {
    return conn_ ? conn_->write(iov, count) : IoResult::failed(EBADF);
}

IoResult UpstreamTunnel::send_file(int, uint64_t, size_t) {
    return IoResult::failed(ENOTSUP);  // a tunnel carries bytes it read, never files
}

bool UpstreamTunnel::shutdown_write() {
    if (!conn_) return false;
    conn_->shutdown_write();
    return true;
}

void UpstreamTunnel::close() {
    if (!conn_) return;
    conn_->set_user(nullptr);
    pool_.give_back(std::move(conn_), false);
}

Status UpstreamTunnel::watch(Want want) {
    if (!conn_) return {};
    return conn_->watch(epoll_events_for(want));
}

void UpstreamTunnel::on_upstream_io(UpstreamConnection&, uint32_t events) noexcept {
    if (watcher_) watcher_->on_io(events);
}

}  // namespace minid::proxy
