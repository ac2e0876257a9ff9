// minidctl: the operator's command-line client for a running minid (status, reload, stop,
// reopen, workers, metrics) over minid's control socket.
#include <iostream>

#include "common/build_info.hpp"
#include "ctl/commands.hpp"
#include "ctl/ctl_options.hpp"

int main(int argc, char** argv) {
    using namespace minid::ctl;
    auto options = parse_ctl_options(argc, argv);
    if (!options.ok()) {
        std::cerr << "minidctl: " << options.failure().message << "\n";
        return options.failure().code;
    }
    if (options->show_help) {
        std::cout << ctl_usage();
        return kExitOk;
    }
    if (options->show_version) {
        std::cout << "minidctl " << minid::build::version << " (control protocol "
                  << minid::control::kProtocolVersion << ")\n";
        return kExitOk;
    }
    return run_ctl_command(*options, std::cout, std::cerr);
}
