// Control protocol between minidctl and the master: versioned JSON lines over a unix socket.
// One request line in, one response line out; the status schema lives here so both sides agree.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/tls_handshake_stats.hpp"

namespace minid::control {

using Json = nlohmann::ordered_json;  // keeps the documented field order

// Bumped on any incompatible change to requests, responses or the status schema.
inline constexpr int kProtocolVersion = 1;
// Longest request line the master buffers (a request is a few dozen bytes; anything near this
// is an abuse, not a request).
inline constexpr size_t kMaxRequestBytes = 64 * 1024;
// Longest response line minidctl accepts (status of 512 workers, metrics text).
inline constexpr size_t kMaxResponseBytes = 16 * 1024 * 1024;

enum class Command { status, reload, stop, reopen, workers, metrics };
const char* command_name(Command cmd);
std::optional<Command> parse_command_name(std::string_view name);

struct Request {
    Command cmd = Command::status;
    bool fast = false;   // stop
    unsigned count = 0;  // workers
};

// One line, '\n'-terminated.
std::string encode_request(const Request& request);
// Parses one line (without its '\n'). The error is what the master sends back to the client.
Result<Request> decode_request(std::string_view line);

// {"v":1,"ok":true, ...payload}\n — payload must be an object (or null for none).
std::string encode_ok(const Json& payload = nullptr);
// {"v":1,"ok":false,"error":"..."}\n
std::string encode_error(std::string_view message);
// An error that says the request was not looked at (the master has too many control clients):
// {"v":1,"ok":false,"error":"...","busy":true}. Clients may retry it after a short pause.
std::string encode_busy(std::string_view message);

struct Response {
    bool ok = false;
    std::string error;  // when !ok
    bool busy = false;  // the request was not handled; retrying is safe
    Json body;          // the whole response object
};
// Parses a response line. Failure means the peer does not speak this protocol (garbage,
// another version): minidctl's "protocol error", not a failed command.
Result<Response> decode_response(std::string_view line);

// Splits a byte stream into lines with a bound on the unfinished line.
class LineBuffer {
  public:
    explicit LineBuffer(size_t max_line) : max_line_(max_line) {}
    void append(std::string_view bytes) { data_.append(bytes); }
    // The next complete line without its '\n' (and a '\r' before it), if one is buffered.
    std::optional<std::string> next_line();
    bool has_line() const { return data_.find('\n', start_) != std::string::npos; }
    // True when more than the bound is buffered (the peer is not sending sane lines).
    bool overflowed() const;
    size_t buffered() const { return data_.size() - start_; }

  private:
    std::string data_;
    size_t start_ = 0;
    size_t max_line_;
};

// --- status ---

// The counters that only grow while a worker lives: one worker's, the live workers' sum, or the
// sum of the workers that have exited.
struct Counters {
    uint64_t requests = 0;
    uint64_t connections_total = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    uint64_t status_class[5] = {};                 // 1xx..5xx
    uint64_t tls_handshakes = 0;                   // completed in full
    uint64_t tls_resumed = 0;                      // completed by resuming a session
    uint64_t tls_failures[kTlsFailureKinds] = {};  // by TlsFailure

    Counters& operator+=(const Counters& other);
    bool operator==(const Counters&) const = default;
};

struct WorkerStatus : Counters {
    pid_t pid = 0;
    int slot = -1;
    uint64_t generation = 0;
    std::string state;  // starting, serving, draining
    uint64_t uptime_s = 0;
    double rps = 0;  // requests per second over the last ~5 s
    uint64_t connections_active = 0;
    std::optional<uint64_t> rss_bytes;         // nullopt: /proc unreadable (worker just exited)
    std::optional<uint64_t> heartbeat_age_ms;  // nullopt: no heartbeat yet

    bool operator==(const WorkerStatus&) const = default;
};

struct StatusTotals : Counters {
    unsigned workers = 0;
    double rps = 0;
    uint64_t connections_active = 0;
    uint64_t rss_bytes = 0;

    bool operator==(const StatusTotals&) const = default;
};

// Counters of the workers that have exited since the master started: a worker's own counters
// end with it, so the totals since start are StatusTotals plus these.
struct ExitedTotals : Counters {
    uint64_t workers = 0;

    bool operator==(const ExitedTotals&) const = default;
};

struct MasterStatus {
    pid_t pid = 0;
    std::string version;
    uint64_t uptime_s = 0;
    uint64_t generation = 0;
    std::string config_file;  // "" = built-in settings
    std::vector<std::string> listeners;
    bool socket_activated = false;
    bool reloading = false;
    bool stopping = false;
    unsigned target_workers = 0;
    uint64_t reloads_ok = 0;
    uint64_t reloads_failed = 0;
    std::optional<std::string> last_reload_error;

    bool operator==(const MasterStatus&) const = default;
};

// One [upstream] of the reverse proxy, summed over the serving generation's workers.
struct UpstreamStatus {
    std::string name;
    uint64_t requests = 0;
    uint64_t retries = 0;
    uint64_t connect_errors = 0;
    uint64_t timeouts = 0;
    uint64_t bad_responses = 0;
    uint64_t queue_full = 0;
    uint64_t open = 0;  // connections open now, idle ones included
    uint64_t idle = 0;

    bool operator==(const UpstreamStatus&) const = default;
};

struct StatusSnapshot {
    MasterStatus master;
    std::vector<WorkerStatus> workers;
    StatusTotals totals;
    ExitedTotals exited;
    // The ACME agent's report, as it sent it: {"ca":..., "certificates":[{"site", "names",
    // "issuer", "serial", "not_before", "not_after", "next_renewal", "attempts", "retry_at",
    // "last_error", "renewal_failures", "have_certificate"}]}; null without tls = auto.
    Json acme;
    std::vector<UpstreamStatus> upstreams;  // config order

    bool operator==(const StatusSnapshot&) const = default;
};

StatusTotals compute_totals(const std::vector<WorkerStatus>& workers);

// {"master":{...},"workers":[...],"totals":{...},"exited":{...}}; the field names are the
// documented schema (man minidctl(8)).
Json status_to_json(const StatusSnapshot& status);
// Reads the fields status_to_json writes (extra fields are ignored, so the master may add some).
Result<StatusSnapshot> status_from_json(const Json& json);

}  // namespace minid::control
