// Runs one minidctl command against the control socket and prints its outcome; returns the exit
// code (see ctl/failure.hpp).
#pragma once

#include <ostream>

#include "ctl/ctl_options.hpp"

namespace minid::ctl {

int run_ctl_command(const CtlOptions& options, std::ostream& out, std::ostream& err);

}  // namespace minid::ctl
