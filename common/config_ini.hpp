// INI syntax layer for minid.conf: runs inih over a text and returns every section header,
// key = value entry and syntax error with its line number, so the config layer can report all
// problems at once instead of inih's first error only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minid {

struct IniSection {
    int line = 0;
    std::string name;  // as written between the brackets, surrounding spaces trimmed
};

struct IniEntry {
    int line = 0;
    std::optional<std::string> section;  // nullopt: the key came before any [section] header
    size_t section_index = 0;            // into IniDocument::sections, when `section` is set
    std::string key;
    std::string value;  // spaces and a trailing " ; comment" removed by inih
};

struct IniError {
    int line = 0;
    std::string message;
};

struct IniDocument {
    std::vector<IniSection> sections;
    std::vector<IniEntry> entries;
    std::vector<IniError> errors;
};

// Longest accepted line, in bytes without the newline (room for a PATH_MAX root).
inline constexpr size_t kMaxIniLine = 8192;

// Syntax: "[section]", "key = value" (or "key: value"), comments are lines starting with ';'
// or '#', and ';' or '#' after a space starts a comment at the end of a line. Continuation
// lines are not allowed; leading spaces are ignored.
// Keys after a malformed section header are dropped (the header's error covers them).
IniDocument read_ini(std::string_view text);

}  // namespace minid
