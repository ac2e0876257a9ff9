// Value syntax shared by minid.conf and the command line: durations, sizes, counts, modes, and
// the text rules a value must follow to survive a serialize()/parse round trip.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace minid {

// "30" (seconds), "30s", "500ms", "2m", "1h". Errors are reasons, e.g. "expected a duration ...".
Result<std::chrono::milliseconds> parse_duration(std::string_view text);
// Largest unit that is exact: 90000ms -> "90s", 120000ms -> "2m", 1500ms -> "1500ms".
std::string format_duration(std::chrono::milliseconds value);

// The same syntax down to microseconds ("50us", "1ms", "0"), for settings finer than a millisecond.
Result<std::chrono::microseconds> parse_micro_duration(std::string_view text);
// Largest unit that is exact: 1000us -> "1ms", 50us -> "50us".
std::string format_micro_duration(std::chrono::microseconds value);

// "8192", "8k", "1m", "1g" (k = 1024; upper case accepted).
Result<uint64_t> parse_size(std::string_view text);
// Largest unit that is exact: 8192 -> "8k", 1000 -> "1000".
std::string format_size(uint64_t value);

// A plain decimal number (no sign, no suffix).
Result<uint64_t> parse_count(std::string_view text);

// A switch: "on" or "off" (also "yes"/"no", "true"/"false", "1"/"0"; any case).
Result<bool> parse_switch(std::string_view text);
inline std::string format_switch(bool on) {
    return on ? "on" : "off";
}

// Worker count: "auto" (0) or a number from 1 to kMaxWorkers.
inline constexpr unsigned kMaxWorkers = 256;
Result<unsigned> parse_workers(std::string_view text);
std::string format_workers(unsigned workers);

// Octal permission bits such as "0660" or "660", at most 0777.
Result<unsigned> parse_file_mode(std::string_view text);
std::string format_file_mode(unsigned mode);

// RFC 9110 token characters (plus '/', for "product/version" Server values).
bool is_server_name(std::string_view text);

// Why `text` cannot be written as a minid.conf value and read back unchanged (inih strips
// surrounding whitespace; " ;" and " #" start comments), or nullopt if it can.
std::optional<std::string> unrepresentable_reason(std::string_view text);

// "/cwd/" + path for a relative path; "." and "./" prefixes are dropped. Absolute paths are
// returned unchanged.
Result<std::string> make_absolute(std::string_view path);

// The whitespace-separated words of a value ("a  b c" -> a, b, c), for keys that take a list.
std::vector<std::string_view> split_words(std::string_view text);

// TLS versions for tls_protocols: "TLSv1.2", "TLSv1.3" or both, space-separated. Why `text` is
// not such a list, or nullopt.
std::optional<std::string> tls_protocols_problem(std::string_view text);

// Optimal string alignment distance (a transposition counts as one edit), for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace minid
