// minidctl's command line: global options, the command and its own options, as a pure
// function of argv so every spelling and error can be tested.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/control_protocol.hpp"
#include "ctl/failure.hpp"

namespace minid::ctl {

struct CtlOptions {
    std::optional<std::string> control_path;           // --control PATH
    std::optional<std::string> config_path;            // -c/--config CONFIG
    std::optional<std::chrono::milliseconds> timeout;  // --timeout SECONDS
    bool show_help = false;
    bool show_version = false;

    control::Command command = control::Command::status;
    bool json = false;     // status --json
    bool fast = false;     // stop --fast
    bool no_wait = false;  // stop --no-wait
    unsigned workers = 0;  // workers N

    // --timeout, else the command's default (reload and stop wait long).
    std::chrono::milliseconds effective_timeout() const;
};

// Parses argv[1..]. Options may come before or after the command. Failures carry kExitUsage and
// a one-line message that says what to type instead.
Expected<CtlOptions> parse_ctl_options(int argc, char** argv);

std::string ctl_usage();

}  // namespace minid::ctl
