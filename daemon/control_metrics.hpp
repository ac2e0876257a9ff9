// Prometheus text exposition (format 0.0.4) of a status snapshot, for `minidctl metrics`.
#pragma once

#include <string>
#include <string_view>

#include "common/control_protocol.hpp"

namespace minid {

std::string render_prometheus(const control::StatusSnapshot& status);

// A label value with \, " and newline escaped as the format requires.
std::string escape_label_value(std::string_view value);

}  // namespace minid
