// sd_notify wrappers. Messages are logged at debug level so a test or an operator can follow
// the sequence without a notify socket.
#include "daemon/systemd_notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstring>

#include "common/log.hpp"

namespace minid::notify {
namespace {

void send(const std::string& msg) {
    log::debug("sd_notify: ", msg);
    int rc = sd_notify(0, msg.c_str());
    if (rc < 0) log::warn("sd_notify failed: ", strerror(-rc));
}

uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

void ready(const std::string& status) {
    send("READY=1\nSTATUS=" + status);
}

void reloading(const std::string& status) {
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=" + status);
}

void stopping(const std::string& status) {
    send("STOPPING=1\nSTATUS=" + status);
}
void status(const std::string& status) {
    send("STATUS=" + status);
}
void watchdog() {
    int rc = sd_notify(0, "WATCHDOG=1");
    if (rc < 0) log::warn("sd_notify(WATCHDOG=1) failed: ", strerror(-rc));
}
void extend_timeout(uint64_t usec) {
    send("EXTEND_TIMEOUT_USEC=" + std::to_string(usec));
}

uint64_t watchdog_usec() {
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

}  // namespace minid::notify
