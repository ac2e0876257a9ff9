// Value syntax for minid.conf and the command line. Parsers return reasons without the key
// name; callers add "invalid KEY 'VALUE': " so every message has the same shape.
#include "common/config_values.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <limits>
#include <span>
#include <vector>

#include "common/http_token.hpp"
#include "common/log.hpp"

namespace minid {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

enum class Split { ok, no_digits, overflow };

// Splits "123abc" into its number and suffix.
Split split_number(std::string_view text, uint64_t* number, std::string_view* suffix) {
    size_t i = 0;
    uint64_t n = 0;
    bool overflow = false;
    while (i < text.size() && is_digit(text[i])) {
        const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
        if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) overflow = true;
        n = n * 10 + digit;
        ++i;
    }
    if (i == 0) return Split::no_digits;
    *number = n;
    *suffix = text.substr(i);
    return overflow ? Split::overflow : Split::ok;
}

bool checked_multiply(uint64_t a, uint64_t b, uint64_t* out) {
    if (b != 0 && a > std::numeric_limits<uint64_t>::max() / b) return false;
    *out = a * b;
    return true;
}

struct Unit {
    std::string_view suffix;
    uint64_t factor;
};

// Largest first, so format_* picks the largest exact unit.
constexpr Unit kDurationUnits[] = {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
constexpr Unit kMicroDurationUnits[] = {
    {"h", 3'600'000'000}, {"m", 60'000'000}, {"s", 1'000'000}, {"ms", 1'000}, {"us", 1}};
constexpr Unit kSizeUnits[] = {{"g", 1ull << 30}, {"m", 1ull << 20}, {"k", 1ull << 10}};

// A duration in units of the table's factor 1 (D's tick); plain numbers are seconds, as in nginx.
template <typename D>
Result<D> parse_scaled_duration(std::string_view text, std::span<const Unit> units,
                                std::string_view expected) {
    uint64_t n = 0;
    std::string_view suffix;
    const Split split = split_number(text, &n, &suffix);
    if (split == Split::no_digits) return make_error(std::string(expected));
    uint64_t factor = 0;
    for (const Unit& u : units)
        if (u.suffix == (suffix.empty() ? "s" : suffix)) factor = u.factor;
    if (factor == 0) return make_error(std::string(expected));
    uint64_t count = 0;
    if (split == Split::overflow || !checked_multiply(n, factor, &count) ||
        count > static_cast<uint64_t>(std::numeric_limits<typename D::rep>::max()))
        return make_error("duration is too large");
    return D(static_cast<typename D::rep>(count));
}

std::string format_scaled_duration(int64_t count, std::span<const Unit> units) {
    if (count > 0) {
        for (const Unit& u : units) {
            const auto f = static_cast<int64_t>(u.factor);
            if (count % f == 0) return std::to_string(count / f) + std::string(u.suffix);
        }
    }
    return std::to_string(count) + std::string(units.back().suffix);
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    return parse_scaled_duration<std::chrono::milliseconds>(
        text, kDurationUnits, "expected a duration such as 30s, 500ms, 2m or 1h");
}

std::string format_duration(std::chrono::milliseconds value) {
    return format_scaled_duration(value.count(), kDurationUnits);
}

Result<std::chrono::microseconds> parse_micro_duration(std::string_view text) {
    return parse_scaled_duration<std::chrono::microseconds>(
        text, kMicroDurationUnits, "expected a duration such as 50us, 1ms or 0");
}

std::string format_micro_duration(std::chrono::microseconds value) {
    return format_scaled_duration(value.count(), kMicroDurationUnits);
}

Result<uint64_t> parse_size(std::string_view text) {
    constexpr std::string_view kExpected = "expected a size such as 8192, 8k, 1m or 1g";
    uint64_t n = 0;
    std::string_view suffix;
    const Split split = split_number(text, &n, &suffix);
    if (split == Split::no_digits) return make_error(std::string(kExpected));
    uint64_t factor = 0;
    if (suffix.empty()) {
        factor = 1;
    } else if (suffix.size() == 1) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(suffix[0])));
        for (const Unit& u : kSizeUnits)
            if (u.suffix[0] == c) factor = u.factor;
    }
    if (factor == 0) return make_error(std::string(kExpected));
    uint64_t bytes = 0;
    if (split == Split::overflow || !checked_multiply(n, factor, &bytes))
        return make_error("size is too large");
    return bytes;
}

std::string format_size(uint64_t value) {
    if (value == 0) return "0";
    for (const Unit& u : kSizeUnits)
        if (value % u.factor == 0) return std::to_string(value / u.factor) + std::string(u.suffix);
    return std::to_string(value);
}

Result<uint64_t> parse_count(std::string_view text) {
    uint64_t n = 0;
    std::string_view suffix;
    const Split split = split_number(text, &n, &suffix);
    if (split == Split::no_digits || !suffix.empty()) return make_error("expected a whole number");
    if (split == Split::overflow) return make_error("number is too large");
    return n;
}

Result<bool> parse_switch(std::string_view text) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "on" || lower == "yes" || lower == "true" || lower == "1") return true;
    if (lower == "off" || lower == "no" || lower == "false" || lower == "0") return false;
    return make_error("expected 'on' or 'off'");
}

Result<unsigned> parse_workers(std::string_view text) {
    const std::string expected =
        "expected 'auto' or a number from 1 to " + std::to_string(kMaxWorkers);
    if (text == "auto") return 0u;
    auto n = parse_count(text);
    if (!n || *n < 1 || *n > kMaxWorkers) return make_error(expected);
    return static_cast<unsigned>(*n);
}

std::string format_workers(unsigned workers) {
    return workers == 0 ? std::string("auto") : std::to_string(workers);
}

Result<unsigned> parse_file_mode(std::string_view text) {
    constexpr std::string_view kExpected = "expected octal permission bits such as 0660";
    if (text.empty() || text.size() > 4) return make_error(std::string(kExpected));
    unsigned mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') return make_error(std::string(kExpected));
        mode = mode * 8 + static_cast<unsigned>(c - '0');
    }
    if (mode > 0777) return make_error("only permission bits (at most 0777) are allowed");
    return mode;
}

std::string format_file_mode(unsigned mode) {
    std::string s = "0000";
    for (int i = 3; i >= 0; --i) {
        s[static_cast<size_t>(i)] = static_cast<char>('0' + (mode & 7));
        mode >>= 3;
    }
    return s;
}

bool is_server_name(std::string_view text) {
    if (text.empty()) return false;
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return is_http_tchar(c) || c == '/'; });
}

std::optional<std::string> unrepresentable_reason(std::string_view text) {
    for (char c : text) {
        if (std::iscntrl(static_cast<unsigned char>(c)))
            return "control characters (tab, newline...) are not allowed";
    }
    if (!text.empty() && (std::isspace(static_cast<unsigned char>(text.front())) ||
                          std::isspace(static_cast<unsigned char>(text.back()))))
        return "leading or trailing spaces are not allowed";
    if (!text.empty() && (text.front() == ';' || text.front() == '#'))
        return "a value cannot start with ';' or '#' (a comment)";
    for (size_t i = 1; i < text.size(); ++i) {
        if ((text[i] == ';' || text[i] == '#') &&
            std::isspace(static_cast<unsigned char>(text[i - 1])))
            return "a space followed by ';' or '#' starts a comment in minid.conf";
    }
    return std::nullopt;
}

Result<std::string> make_absolute(std::string_view path) {
    if (!path.empty() && path.front() == '/') return std::string(path);
    std::vector<char> buf(4096);
    while (::getcwd(buf.data(), buf.size()) == nullptr) {
        if (errno != ERANGE) return make_error(sys_error("getcwd", errno));
        buf.resize(buf.size() * 2);
    }
    std::string out(buf.data());
    while (path == "." || path.starts_with("./")) path.remove_prefix(path.size() == 1 ? 1 : 2);
    if (path.empty()) return out;
    if (out.back() != '/') out += '/';
    out += path;
    return out;
}

std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
        if (j > i) words.push_back(text.substr(i, j - i));
        i = j;
    }
    return words;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    const size_t n = a.size(), m = b.size();
    std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
    for (size_t i = 0; i <= n; ++i) d[i][0] = i;
    for (size_t j = 0; j <= m; ++j) d[0][j] = j;
    for (size_t i = 1; i <= n; ++i) {
        for (size_t j = 1; j <= m; ++j) {
            const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[n][m];
}

std::optional<std::string> tls_protocols_problem(std::string_view text) {
    const auto words = split_words(text);
    if (words.empty()) return "give TLSv1.2, TLSv1.3 or both";
    for (std::string_view w : words) {
        if (w != "TLSv1.2" && w != "TLSv1.3")
            return "unknown protocol '" + std::string(w) +
                   "' (expected TLSv1.2 and/or TLSv1.3; older versions are not offered)";
    }
    return std::nullopt;
}

}  // namespace minid
