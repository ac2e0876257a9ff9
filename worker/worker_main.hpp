// Entry point of a worker process (`minid --worker ...`, started by the master via fork+exec).
#pragma once

namespace minid {

// Returns the process exit code (see common/worker_protocol.hpp).
int run_worker(int argc, char** argv);

}  // namespace minid
