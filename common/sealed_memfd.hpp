// Sealed memfds: a read-only snapshot of some bytes that can be handed to another process image
// by fd (the config for workers, the master's state across its re-exec).
#pragma once

#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace minid {

// A memfd holding `text`, sealed against any write, growth or shrink: whoever reads it sees
// exactly these bytes. `inherit` leaves close-on-exec off, for a memfd meant to cross execve().
Result<UniqueFd> make_sealed_memfd(const char* name, std::string_view text, bool inherit = false);

}  // namespace minid
