// ControlBackend: what the control socket needs from the master. Master is adapted to it in
// production; tests drive the socket server with a fake.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "common/stats_segment.hpp"
#include "daemon/master.hpp"

namespace minid {

class ControlBackend {
  public:
    virtual ~ControlBackend() = default;
    virtual Master::Info info() const = 0;
    virtual const StatsSegment& stats() const = 0;
    // `done` may run before reload() returns (e.g. while stopping) or much later.
    virtual void reload(Master::ReloadDone done) = 0;
    virtual void stop(bool fast) = 0;
    virtual void reopen_logs() = 0;
    virtual Status set_workers(unsigned count) = 0;
};

// Forwards to a Master that outlives the returned object.
std::unique_ptr<ControlBackend> make_master_backend(Master& master);

}  // namespace minid
