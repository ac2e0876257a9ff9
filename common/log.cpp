// Diagnostic log implementation: unbuffered single write(2) per line so lines from
// several processes sharing stderr never interleave mid-line.
#include "common/log.hpp"

#include <string.h>
#include <unistd.h>

#include <cerrno>

namespace minid::log {
namespace {
Level g_level = Level::info;
std::string g_tag = "minid";
}  // namespace

void set_level(Level lvl) {
    g_level = lvl;
}
Level level() {
    return g_level;
}
bool enabled(Level lvl) {
    return static_cast<int>(lvl) <= static_cast<int>(g_level);
}
void set_tag(std::string tag) {
    g_tag = std::move(tag);
}

bool parse_level(std::string_view text, Level* out) {
    static constexpr struct {
        std::string_view name;
        Level level;
    } kLevels[] = {{"error", Level::error},   {"warn", Level::warn}, {"warning", Level::warn},
                   {"notice", Level::notice}, {"info", Level::info}, {"debug", Level::debug}};
    for (const auto& l : kLevels) {
        if (l.name == text) {
            *out = l.level;
            return true;
        }
    }
    return false;
}

const char* level_name(Level lvl) {
    switch (lvl) {
        case Level::error:
            return "error";
        case Level::warn:
            return "warn";
        case Level::notice:
            return "notice";
        case Level::info:
            return "info";
        case Level::debug:
            return "debug";
    }
    return "?";
}

void write(Level lvl, std::string_view message) {
    if (!enabled(lvl)) return;
    std::string line;
    line.reserve(message.size() + g_tag.size() + 8);
    line += '<';
    line += static_cast<char>('0' + static_cast<int>(lvl));
    line += '>';
    line += g_tag;
    line += ": ";
    line += message;
    line += '\n';
    const int saved = errno;
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // Nowhere left to report a failing stderr.
        p += n;
        left -= static_cast<size_t>(n);
    }
    errno = saved;
}

}  // namespace minid::log

namespace minid {

std::string sys_error(std::string_view call, std::string_view subject, int err) {
    std::string s(call);
    s += '(';
    s += subject;
    s += ") failed: ";
    s += strerror(err);
    return s;
}

std::string sys_error(std::string_view call, int err) {
    std::string s(call);
    s += " failed: ";
    s += strerror(err);
    return s;
}

}  // namespace minid
