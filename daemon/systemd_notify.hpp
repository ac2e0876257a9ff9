// Thin wrappers over sd_notify(3) for the master's lifecycle messages. All are no-ops when
// NOTIFY_SOCKET is unset (started by hand).
#pragma once

#include <cstdint>
#include <string>

namespace minid::notify {

void ready(const std::string& status);
void reloading(
    const std::string& status);  // RELOADING=1 with MONOTONIC_USEC (systemd >= 253 reads it)
void stopping(const std::string& status);
void status(const std::string& status);
void watchdog();
void extend_timeout(uint64_t usec);
// The watchdog interval systemd asked for, or 0 when WatchdogSec= is off.
uint64_t watchdog_usec();

}  // namespace minid::notify
