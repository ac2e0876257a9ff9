// minidctl's exit codes (documented in minidctl(8)) and the failure values that carry them
// from wherever a problem is found up to main().
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace minid::ctl {

enum ExitCode : int {
    kExitOk = 0,
    kExitFailed = 1,      // minid refused or failed the command (e.g. a broken config on reload)
    kExitUsage = 2,       // bad command line or unreadable -c CONFIG
    kExitNotRunning = 3,  // no socket, connection refused, control socket off
    kExitPermission = 4,  // the socket (or its directory) is not ours to use
    kExitProtocol = 5,    // the peer speaks another protocol version or garbage
    kExitTimeout = 6,     // no (complete) answer within --timeout
};

struct Failure {
    ExitCode code;
    std::string message;
};

// A value or a Failure.
template <typename T>
class Expected {
  public:
    Expected(T value) : v_(std::move(value)) {}
    Expected(Failure f) : v_(std::move(f)) {}
    bool ok() const { return v_.index() == 0; }
    T& value() {
        assert(ok());
        return std::get<0>(v_);
    }
    T* operator->() { return &value(); }
    T& operator*() { return value(); }
    const Failure& failure() const {
        assert(!ok());
        return std::get<1>(v_);
    }

  private:
    std::variant<T, Failure> v_;
};

}  // namespace minid::ctl
