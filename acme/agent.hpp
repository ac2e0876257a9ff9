// The ACME agent: a child process of the master (the program minid-acme-agent,
// acme/agent_main.cpp), started only when some site has `tls = auto` and restarted with backoff
// like a worker. It alone talks to the CA: it obtains and renews each such site's certificate into
// the state directory, and tells the master over its link (common/worker_message.hpp) when a
// certificate changed (the master then reloads: a new generation serves it) and what each
// certificate's state is (minidctl status).
#pragma once

namespace minid::acme {

// argv: minid-acme-agent --protocol=N --config-fd=N --ipc-fd=N. Returns the exit code.
int run_agent(int argc, char** argv);

}  // namespace minid::acme
