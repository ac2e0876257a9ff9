// trim: a view without its leading and trailing whitespace (space, tab, CR, LF, VT, FF), shared
// by the INI reader and the readers of one-line kernel files (cgroup quotas).
#pragma once

#include <cctype>
#include <string_view>

namespace minid {

inline std::string_view trim(std::string_view s) noexcept {
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace minid
