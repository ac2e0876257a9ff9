// Diagnostic log: one line per message on stderr, with the "<N>" syslog priority prefix that
// journald turns into a real priority (sd-daemon(3)).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace minid::log {

enum class Level { error = 3, warn = 4, notice = 5, info = 6, debug = 7 };

// Messages above this level are dropped. Not thread-safe to change while logging elsewhere;
// every minid process is single-threaded.
void set_level(Level level);
Level level();
bool enabled(Level level);

// The prefix after the priority, e.g. "master" or "worker 2/g5"; names the process in the journal.
void set_tag(std::string tag);

// Parses "error", "warn", "notice", "info", "debug".
bool parse_level(std::string_view text, Level* out);
const char* level_name(Level level);

void write(Level level, std::string_view message);

template <typename... Args>
void print(Level lvl, const Args&... args) {
    if (!enabled(lvl)) return;
    std::ostringstream os;
    (os << ... << args);
    write(lvl, os.str());
}

template <typename... Args>
void error(const Args&... args) {
    print(Level::error, args...);
}
template <typename... Args>
void warn(const Args&... args) {
    print(Level::warn, args...);
}
template <typename... Args>
void notice(const Args&... args) {
    print(Level::notice, args...);
}
template <typename... Args>
void info(const Args&... args) {
    print(Level::info, args...);
}
template <typename... Args>
void debug(const Args&... args) {
    print(Level::debug, args...);
}

}  // namespace minid::log

namespace minid {

// "open(/srv/www/x) failed: Permission denied" — the shape every syscall error is reported in.
std::string sys_error(std::string_view call, std::string_view subject, int err);
std::string sys_error(std::string_view call, int err);

}  // namespace minid
