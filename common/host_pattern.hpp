// Host patterns of a [site]'s `hosts`: their syntax and canonical form (lower case, no trailing
// dot), shared by the config parser (which reports bad ones) and its validation.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace minid {

// "example.com", "*.example.com" (one or more labels in front of example.com, never
// example.com itself), an IPv4 address, or an IPv6 address in brackets ("[::1]").
// Returns the canonical form, or the reason `text` is not a pattern.
Result<std::string> parse_host_pattern(std::string_view text);

// Why a stored pattern is not a canonical pattern (for a Config built in code), or nullopt.
std::optional<std::string> host_pattern_problem(std::string_view pattern);

inline bool is_wildcard_pattern(std::string_view pattern) {
    return pattern.starts_with("*.");
}

}  // namespace minid
