// Which control socket minidctl talks to: --control PATH, the control_socket key of -c CONFIG,
// or the built-in default.
#pragma once

#include <string>
#include <string_view>

#include "ctl/ctl_options.hpp"
#include "ctl/failure.hpp"

namespace minid::ctl {

Expected<std::string> resolve_socket_path(const CtlOptions& options);

// The control_socket setting of a config text. A config with errors elsewhere still yields its
// control_socket line: `minidctl -c CONFIG reload` must reach minid to report those errors.
Expected<std::string> control_socket_from_config_text(std::string_view text,
                                                      std::string_view origin);

}  // namespace minid::ctl
