// The readable `minidctl status` output: a few header lines about the master, then one row per
// worker and a totals row, in aligned columns.
#pragma once

#include <string>

#include "common/control_protocol.hpp"

namespace minid::ctl {

std::string render_status_table(const control::StatusSnapshot& status);

}  // namespace minid::ctl
