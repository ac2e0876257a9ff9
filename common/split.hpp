// split: the pieces of a view between separators (empty pieces kept), for kernel files with
// one-character separators: cgroup and mountinfo lines, cpu.max, cpuset lists.
#pragma once

#include <string_view>
#include <vector>

namespace minid {

inline std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (size_t start = 0;;) {
        const size_t at = s.find(sep, start);
        out.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

}  // namespace minid
