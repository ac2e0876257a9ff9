// Short human-readable numbers for the status table: byte sizes, durations, rates.
#pragma once

#include <cstdint>
#include <string>

namespace minid::ctl {

// 0 B, 999 B, 1.0 KiB, 12.3 MiB, 4.0 GiB ... (binary units, one decimal from KiB up).
std::string format_bytes(uint64_t bytes);
// 0s, 59s, 1m00s, 59m59s, 1h00m, 23h59m, 1d00h, 400d03h.
std::string format_duration(uint64_t seconds);
// One decimal: 0.0, 12.5, 1234.0.
std::string format_rate(double per_second);

}  // namespace minid::ctl
