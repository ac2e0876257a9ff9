// minid's command line: options to a CommandLine value, and the --help text. A pure function
// of argv (no getopt, no globals), so it can be tested and called again on reload.
#pragma once

#include <string>

#include "common/config.hpp"
#include "common/result.hpp"

namespace minid {

struct CommandLine {
    std::string config_path;    // -c/--config; "" = built-in defaults
    ConfigOverrides overrides;  // --listen (repeatable), --root, --workers
    bool check_config = false;  // -t/--check-config: load, validate, report, exit
    bool show_version = false;  // -V/--version
    bool show_help = false;     // -h/--help
};

// Parses argv[1..argc-1]. The hidden worker mode (minid --worker ...) is detected by main()
// before this is called; here it is an unknown option. Errors are one line that says what to
// do, e.g. "option --workers needs a value: --workers N|auto"; the caller points to --help.
Result<CommandLine> parse_command_line(int argc, char** argv);

std::string usage_text();

}  // namespace minid
