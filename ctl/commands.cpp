// minidctl commands: one request each; reload waits for the reload's end, stop for minid's exit.
#include "ctl/commands.hpp"

#include <string>
#include <thread>

#include "ctl/control_client.hpp"
#include "ctl/socket_path.hpp"
#include "ctl/status_table.hpp"

namespace minid::ctl {
namespace {

using namespace std::chrono_literals;

// Pause before asking again when the master had too many control clients.
constexpr auto kBusyRetry = 100ms;

int report(const Failure& f, std::ostream& err) {
    err << "minidctl: " << f.message << "\n";
    return f.code;
}

Failure protocol_failure(const std::string& what) {
    return {kExitProtocol, "protocol error: " + what};
}

int print_status(const control::Response& r, bool json, std::ostream& out, std::ostream& err) {
    auto status = control::status_from_json(r.body);
    if (!status) return report(protocol_failure(status.error()), err);
    if (json) {
        control::Json j = r.body;
        j.erase("ok");
        out << j.dump(2) << "\n";
    } else {
        out << render_status_table(*status);
    }
    return kExitOk;
}

// Prints the outcome of an answered request.
int finish(const CtlOptions& o, ControlClient& client, const control::Response& r,
           Deadline deadline, std::ostream& out, std::ostream& err) {
    if (!r.ok) {
        if (o.command == control::Command::reload)
            err << "minidctl: reload failed; the running generation keeps serving:\n";
        else
            err << "minidctl: " << control::command_name(o.command) << ": ";
        err << r.error << "\n";
        return kExitFailed;
    }
    switch (o.command) {
        case control::Command::status:
            return print_status(r, o.json, out, err);
        case control::Command::metrics: {
            auto it = r.body.find("text");
            if (it == r.body.end() || !it->is_string())
                return report(protocol_failure("metrics answer without \"text\""), err);
            out << it->get<std::string>();
            return kExitOk;
        }
        case control::Command::reload: {
            auto g = r.body.find("generation");
            out << "reload complete";
            if (g != r.body.end() && g->is_number_unsigned())
                out << ": generation " << g->get<uint64_t>() << " is serving";
            out << "\n";
            return kExitOk;
        }
        case control::Command::reopen:
            out << "log files reopened\n";
            return kExitOk;
        case control::Command::workers:
            out << "worker count set to " << o.workers << " (until the next reload)\n";
            return kExitOk;
        case control::Command::stop:
            if (o.no_wait) {
                out << "minid is stopping\n";
                return kExitOk;
            }
            if (auto f = client.wait_closed(deadline)) return report(*f, err);
            out << "minid stopped\n";
            return kExitOk;
    }
    return kExitOk;
}

}  // namespace

int run_ctl_command(const CtlOptions& o, std::ostream& out, std::ostream& err) {
    const Deadline deadline = std::chrono::steady_clock::now() + o.effective_timeout();
    auto path = resolve_socket_path(o);
    if (!path.ok()) return report(path.failure(), err);
    control::Request req;
    req.cmd = o.command;
    req.fast = o.fast;
    req.count = o.workers;
    for (;;) {
        auto client = ControlClient::connect(*path, deadline);
        if (!client.ok()) return report(client.failure(), err);
        auto response = client->call(req, deadline);
        if (!response.ok()) {
            Failure f = response.failure();
            if (f.code == kExitTimeout && o.command == control::Command::reload)
                f.message += "; the reload may still finish: check minidctl status";
            return report(f, err);
        }
        // Busy: the master did not look at the request, so asking again is safe.
        if (!response->ok && response->busy &&
            std::chrono::steady_clock::now() + kBusyRetry < deadline) {
            std::this_thread::sleep_for(kBusyRetry);
            continue;
        }
        return finish(o, *client, *response, deadline, out, err);
    }
}

}  // namespace minid::ctl
