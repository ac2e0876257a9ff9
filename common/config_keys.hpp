// The table of minid.conf keys: for each key its section, how its value is parsed and checked,
// and how it is written back. Parser, validator and serializer all walk this one table, so a
// key cannot be parsed but not serialized (or the reverse).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"

namespace minid {

// A key of `Owner`: Config for the fixed sections, SiteSettings for [site NAME].
template <typename Owner>
struct BasicConfigKey {
    std::string_view section;
    std::string_view name;
    bool repeatable = false;
    // Numeric range (milliseconds for durations, bytes for sizes); unused by other kinds.
    uint64_t min = 0;
    uint64_t max = 0;
    // Parses `value` into its field; returns "invalid NAME 'VALUE': reason" on error.
    std::optional<std::string> (*apply)(const BasicConfigKey&, Owner&, std::string_view value);
    // Re-checks the field as set (by a file or by code), for validate_config.
    std::optional<std::string> (*check)(const BasicConfigKey&, const Owner&);
    // Canonical value texts; none means the key is left out, several mean repeated lines.
    void (*write)(const BasicConfigKey&, const Owner&, std::vector<std::string>& values);
};

using ConfigKey = BasicConfigKey<Config>;
using SiteKey = BasicConfigKey<SiteSettings>;
using UpstreamKey = BasicConfigKey<UpstreamSettings>;

inline constexpr std::string_view kConfigSections[] = {"server", "http", "meta"};
// Named sections, "[KIND NAME]".
inline constexpr std::string_view kSiteSection = "site";
inline constexpr std::string_view kUpstreamSection = "upstream";

std::span<const ConfigKey> config_keys();
const ConfigKey* find_config_key(std::string_view section, std::string_view name);

// The keys of a [site NAME] section (their `section` is "site").
std::span<const SiteKey> site_keys();
const SiteKey* find_site_key(std::string_view name);

// The keys of an [upstream NAME] section (their `section` is "upstream").
std::span<const UpstreamKey> upstream_keys();
const UpstreamKey* find_upstream_key(std::string_view name);

// The known key nearest to `name` within edit distance 2 (same section wins a tie), or null.
const ConfigKey* closest_config_key(std::string_view section, std::string_view name);
const SiteKey* closest_site_key(std::string_view name);
const UpstreamKey* closest_upstream_key(std::string_view name);

// Site and upstream names: up to 64 letters, digits, '.', '_' and '-'.
bool valid_section_name(std::string_view name);

// "invalid NAME 'VALUE': REASON", the shape of every value error.
std::string invalid_value(std::string_view name, std::string_view value, std::string_view reason);

}  // namespace minid
