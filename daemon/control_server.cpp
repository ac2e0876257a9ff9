// Temporary: replaced by the real control socket implementation (issue 4) before it lands.
#include "daemon/control_server.hpp"

namespace minid {

Result<std::unique_ptr<ControlServer>> ControlServer::create(uv_loop_t*, Master&) {
    return make_error("the control socket is not built yet");
}

}  // namespace minid
