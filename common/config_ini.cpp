// inih glue for minid.conf. inih splits "key = value" and strips comments, but reports only the
// first bad line and does not pass line numbers (INI_HANDLER_LINENO is 0 in Debian's build), so
// a custom reader feeds it one physical line at a time, counts lines, and classifies each line
// first: lines with a syntax error are reported here and handed to inih as blank lines.
#include "common/config_ini.hpp"

#include <ini.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/trim.hpp"

#if INI_HANDLER_LINENO
#error "minid's inih handler expects the 4-argument ini_handler (INI_HANDLER_LINENO=0)"
#endif

namespace minid {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// inih's find_chars_or_comment(): the first of `chars`, or a ';' or '#' after whitespace.
size_t find_or_comment(std::string_view s, std::string_view chars) {
    bool was_space = false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (chars.find(s[i]) != std::string_view::npos) return i;
        if (was_space && (s[i] == ';' || s[i] == '#')) return i;
        was_space = is_space(s[i]);
    }
    return s.size();
}

enum class LineKind { blank, section, pair, error };

struct ReaderState {
    std::string_view text;
    size_t pos = 0;
    size_t line_next = 0;  // where the current physical line's successor starts
    bool at_line_start = true;
    int line = 0;
    LineKind kind = LineKind::blank;
    std::optional<std::string> section;
    bool section_bad = false;  // after a malformed header: drop keys until the next header
    IniDocument* doc = nullptr;

    void error(std::string message) { doc->errors.push_back({line, std::move(message)}); }
};

// Decides what `raw` (one line, no newline) is, records sections and syntax errors.
LineKind classify(ReaderState& st, std::string_view raw) {
    if (st.line == 1 && raw.starts_with(kBom)) raw.remove_prefix(kBom.size());
    const std::string_view s = trim(raw);
    if (s.empty() || s.front() == ';' || s.front() == '#') return LineKind::blank;

    if (s.front() == '[') {
        const size_t close = find_or_comment(s.substr(1), "]") + 1;
        if (close >= s.size() || s[close] != ']') {
            st.error("section header is missing ']'");
            st.section_bad = true;
            return LineKind::error;
        }
        const std::string_view name = trim(s.substr(1, close - 1));
        st.doc->sections.push_back({st.line, std::string(name)});
        st.section = std::string(name);
        st.section_bad = false;
        const std::string_view rest = trim(s.substr(close + 1));
        if (!rest.empty() && rest.front() != ';' && rest.front() != '#') {
            st.error("unexpected text after '[" + std::string(name) + "]'");
            return LineKind::error;
        }
        return LineKind::section;
    }

    const size_t sep = find_or_comment(s, "=:");
    if (sep >= s.size() || (s[sep] != '=' && s[sep] != ':')) {
        st.error("expected 'key = value', '[section]' or a comment");
        return LineKind::error;
    }
    const std::string_view key = trim(s.substr(0, sep));
    if (key.empty()) {
        st.error("missing key name before '" + std::string(1, s[sep]) + "'");
        return LineKind::error;
    }
    if (std::any_of(key.begin(), key.end(), is_space)) {
        st.error("key '" + std::string(key) + "' contains a space; expected 'key = value'");
        return LineKind::error;
    }
    return LineKind::pair;
}

// fgets-like reader for ini_parse_stream(): at most num-1 bytes, ending after a newline.
char* read_line(char* out, int num, void* stream) noexcept {
    auto& st = *static_cast<ReaderState*>(stream);
    if (num < 2) return nullptr;
    if (st.at_line_start) {
        if (st.pos >= st.text.size()) return nullptr;
        ++st.line;
        const size_t eol = st.text.find('\n', st.pos);
        const size_t end = eol == std::string_view::npos ? st.text.size() : eol;
        st.line_next = eol == std::string_view::npos ? st.text.size() : eol + 1;
        std::string_view raw = st.text.substr(st.pos, end - st.pos);
        if (raw.size() > kMaxIniLine) {
            st.error("line is longer than " + std::to_string(kMaxIniLine) + " bytes");
            st.kind = LineKind::error;
        } else if (raw.find('\0') != std::string_view::npos) {
            st.error("line contains a NUL byte");
            st.kind = LineKind::error;
        } else {
            st.kind = classify(st, raw);
        }
        if (st.kind != LineKind::pair && st.kind != LineKind::section) {
            // inih sees a blank line: it must not report or act on what we already handled.
            st.pos = st.line_next;
            out[0] = '\n';
            out[1] = '\0';
            return out;
        }
        // Leading blanks would make inih treat the line as a continuation of the last value.
        while (st.pos < end && is_space(st.text[st.pos])) ++st.pos;
        st.at_line_start = false;
    }
    const size_t n = std::min(st.line_next - st.pos, static_cast<size_t>(num - 1));
    std::memcpy(out, st.text.data() + st.pos, n);
    out[n] = '\0';
    st.pos += n;
    if (st.pos >= st.line_next) st.at_line_start = true;
    return out;
}

int on_pair(void* user, const char* /*section*/, const char* name, const char* value) noexcept {
    auto& st = *static_cast<ReaderState*>(user);
    // Sections are tracked by the reader (trimmed names, malformed headers); inih's is unused.
    if (st.kind != LineKind::pair || st.section_bad) return 1;
    try {
        const size_t index = st.doc->sections.empty() ? 0 : st.doc->sections.size() - 1;
        st.doc->entries.push_back({st.line, st.section, index, name, value ? value : ""});
    } catch (...) {
        return 0;  // out of memory: inih reports the line
    }
    return 1;
}

// Debian's inih exposes its compile-time options as globals. Set the ones this parser relies
// on each time, since they are process-wide. minid processes are single-threaded.
void configure_inih() {
    static char start_prefixes[] = ";#";
    // '#' too: "workers = 4 # four" must not become the value "4 # four".
    static char inline_prefixes[] = ";#";
    ini_allow_multiline = false;
    ini_allow_bom = true;
    ini_start_comment_prefixes = start_prefixes;
    ini_allow_inline_comments = true;
    ini_inline_comment_prefixes = inline_prefixes;
    ini_allow_no_value = false;
    ini_stop_on_first_error = false;
    // A heap buffer that grows to hold the longest line we let through (plus "\r\n\0").
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = static_cast<int>(kMaxIniLine) + 3;
}

}  // namespace

IniDocument read_ini(std::string_view text) {
    IniDocument doc;
    ReaderState st;
    st.text = text;
    st.doc = &doc;
    configure_inih();
    const int rc = ini_parse_stream(read_line, &st, on_pair, &st);
    if (rc == -2) {
        doc.errors.push_back({st.line, "out of memory while reading the configuration"});
    } else if (rc > 0) {
        const bool known = std::any_of(doc.errors.begin(), doc.errors.end(),
                                       [rc](const IniError& e) { return e.line == rc; });
        if (!known) doc.errors.push_back({rc, "syntax error"});
    }
    std::stable_sort(doc.errors.begin(), doc.errors.end(),
                     [](const IniError& a, const IniError& b) { return a.line < b.line; });
    return doc;
}

}  // namespace minid
