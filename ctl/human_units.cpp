// Human-readable units.
#include "ctl/human_units.hpp"

#include <cstdio>

namespace minid::ctl {

std::string format_bytes(uint64_t bytes) {
    static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double v = static_cast<double>(bytes) / 1024.0;
    size_t unit = 0;
    // 1023.96 KiB would print as "1024.0 KiB"; move up a unit before rounding gets there.
    while (v >= 1023.95 && unit + 1 < std::size(kUnits)) {
        v /= 1024.0;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
    return buf;
}

std::string format_duration(uint64_t s) {
    char buf[32];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(s));
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                      static_cast<unsigned long long>(s % 60));
    else if (s < 86400)
        std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                      static_cast<unsigned long long>(s % 3600 / 60));
    else
        std::snprintf(buf, sizeof buf, "%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                      static_cast<unsigned long long>(s % 86400 / 3600));
    return buf;
}

std::string format_rate(double per_second) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", per_second < 0 ? 0.0 : per_second);
    return buf;
}

}  // namespace minid::ctl
