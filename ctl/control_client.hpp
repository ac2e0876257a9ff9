// ControlClient: minidctl's side of the control socket — a blocking unix stream connection where
// every step is bounded by one deadline, and every OS error maps to a documented exit code.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/control_protocol.hpp"
#include "common/unique_fd.hpp"
#include "ctl/failure.hpp"

namespace minid::ctl {

using Deadline = std::chrono::steady_clock::time_point;

class ControlClient {
  public:
    static Expected<ControlClient> connect(const std::string& path, Deadline deadline);

    // Sends one request and reads one answer. A failed command is a Response with ok=false;
    // Failure is for transport and protocol problems.
    Expected<control::Response> call(const control::Request& request, Deadline deadline);
    // Waits until minid closes the connection (it does so when it exits after a stop).
    std::optional<Failure> wait_closed(Deadline deadline);

    // Lower level, for tests that speak raw lines.
    std::optional<Failure> send_line(const std::string& line, Deadline deadline);
    Expected<std::string> read_line(Deadline deadline);

  private:
    ControlClient(UniqueFd fd, std::string path)
        : fd_(std::move(fd)), path_(std::move(path)), in_(control::kMaxResponseBytes) {}

    // Waits for `events` until the deadline; a Failure on timeout or poll error.
    std::optional<Failure> wait_for(short events, Deadline deadline, const char* what);

    UniqueFd fd_;
    std::string path_;
    control::LineBuffer in_;
};

}  // namespace minid::ctl
