// Control protocol encoding and decoding. nlohmann::json throws on type errors; every throw is
// caught here so callers only ever see Result values.
#include "common/control_protocol.hpp"

#include <cmath>
#include <limits>

namespace minid::control {
namespace {

constexpr const char* kClassNames[5] = {"status_1xx", "status_2xx", "status_3xx", "status_4xx",
                                        "status_5xx"};

std::string line_of(const Json& j) {
    // Replace invalid UTF-8 (an error message may quote a config file's bytes) instead of
    // throwing: the reply must always go out.
    std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
    s.push_back('\n');
    return s;
}

// Version check first: a peer speaking another version may use other field names, and the
// operator needs to hear about the version rather than about a missing field.
std::optional<std::string> version_problem(const Json& j, const char* peer, const char* self) {
    auto it = j.find("v");
    if (it == j.end()) return std::string("missing protocol version \"v\"");
    if (!it->is_number_integer()) return std::string("protocol version \"v\" must be an integer");
    const auto v = it->get<int64_t>();
    if (v == kProtocolVersion) return std::nullopt;
    return std::string(peer) + " speaks control protocol version " + std::to_string(v) + ", " +
           self + " speaks version " + std::to_string(kProtocolVersion);
}

uint64_t get_u64(const Json& j, const char* key) {
    const Json& v = j.at(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        throw std::invalid_argument(std::string("\"") + key + "\" must be a non-negative integer");
    return v.get<uint64_t>();
}

std::optional<uint64_t> get_opt_u64(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return get_u64(j, key);
}

Json opt_json(const std::optional<uint64_t>& v) {
    return v ? Json(*v) : Json(nullptr);
}

// Rates are shown with one decimal; rounding here keeps the JSON short and stable.
double round1(double v) {
    return std::round(v * 10.0) / 10.0;
}

// The cumulative counters that workers, totals and exited workers all carry, under the same
// names: written and read in one place.
void put_counters(Json& j, const Counters& c) {
    j["requests"] = c.requests;
    j["connections_total"] = c.connections_total;
    j["bytes_in"] = c.bytes_in;
    j["bytes_out"] = c.bytes_out;
    for (int i = 0; i < 5; ++i) j[kClassNames[i]] = c.status_class[i];
    Json failures = Json::object();
    for (size_t i = 0; i < kTlsFailureKinds; ++i) failures[kTlsFailureNames[i]] = c.tls_failures[i];
    j["tls"] = {{"handshakes", c.tls_handshakes},
                {"resumed", c.tls_resumed},
                {"failures", std::move(failures)}};
}

void get_counters(const Json& j, Counters& c) {
    c.requests = get_u64(j, "requests");
    c.connections_total = get_u64(j, "connections_total");
    c.bytes_in = get_u64(j, "bytes_in");
    c.bytes_out = get_u64(j, "bytes_out");
    for (int i = 0; i < 5; ++i) c.status_class[i] = get_u64(j, kClassNames[i]);
    // Absent from a master without TLS counters; a kind this reader does not know is ignored.
    if (auto tls = j.find("tls"); tls != j.end()) {
        c.tls_handshakes = get_u64(*tls, "handshakes");
        c.tls_resumed = get_u64(*tls, "resumed");
        const Json& f = tls->at("failures");
        for (size_t i = 0; i < kTlsFailureKinds; ++i)
            if (f.contains(kTlsFailureNames[i]))
                c.tls_failures[i] = get_u64(f, kTlsFailureNames[i]);
    }
}

}  // namespace

const char* command_name(Command cmd) {
    switch (cmd) {
        case Command::status:
            return "status";
        case Command::reload:
            return "reload";
        case Command::stop:
            return "stop";
        case Command::reopen:
            return "reopen";
        case Command::workers:
            return "workers";
        case Command::metrics:
            return "metrics";
    }
    return "?";
}

std::optional<Command> parse_command_name(std::string_view name) {
    for (Command c : {Command::status, Command::reload, Command::stop, Command::reopen,
                      Command::workers, Command::metrics})
        if (name == command_name(c)) return c;
    return std::nullopt;
}

std::string encode_request(const Request& request) {
    Json j = {{"v", kProtocolVersion}, {"cmd", command_name(request.cmd)}};
    if (request.cmd == Command::stop) j["fast"] = request.fast;
    if (request.cmd == Command::workers) j["count"] = request.count;
    return line_of(j);
}

Result<Request> decode_request(std::string_view line) {
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return make_error("request is not valid JSON");
    if (!j.is_object()) return make_error("request must be a JSON object");
    if (auto problem = version_problem(j, "minidctl", "this minid")) return make_error(*problem);
    auto cmd_it = j.find("cmd");
    if (cmd_it == j.end() || !cmd_it->is_string()) return make_error("missing command \"cmd\"");
    auto cmd = parse_command_name(cmd_it->get<std::string>());
    if (!cmd) return make_error("unknown command \"" + cmd_it->get<std::string>() + "\"");
    Request r;
    r.cmd = *cmd;
    if (r.cmd == Command::stop) {
        auto it = j.find("fast");
        if (it != j.end() && !it->is_boolean()) return make_error("\"fast\" must be true or false");
        r.fast = it != j.end() && it->get<bool>();
    }
    if (r.cmd == Command::workers) {
        auto it = j.find("count");
        if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 0 ||
            it->get<int64_t>() > std::numeric_limits<unsigned>::max())
            return make_error("workers needs \"count\": a non-negative integer");
        r.count = it->get<unsigned>();
    }
    return r;
}

std::string encode_ok(const Json& payload) {
    Json j = {{"v", kProtocolVersion}, {"ok", true}};
    if (payload.is_object())
        for (auto it = payload.begin(); it != payload.end(); ++it) j[it.key()] = it.value();
    return line_of(j);
}

std::string encode_error(std::string_view message) {
    return line_of(Json{{"v", kProtocolVersion}, {"ok", false}, {"error", std::string(message)}});
}

std::string encode_busy(std::string_view message) {
    return line_of(Json{
        {"v", kProtocolVersion}, {"ok", false}, {"error", std::string(message)}, {"busy", true}});
}

Result<Response> decode_response(std::string_view line) {
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return make_error("the answer is not a JSON object");
    if (auto problem = version_problem(j, "minid", "this minidctl")) return make_error(*problem);
    auto ok = j.find("ok");
    if (ok == j.end() || !ok->is_boolean()) return make_error("the answer has no \"ok\" field");
    Response r;
    r.ok = ok->get<bool>();
    if (!r.ok) {
        auto err = j.find("error");
        if (err == j.end() || !err->is_string())
            return make_error("a failure answer without an \"error\" message");
        r.error = err->get<std::string>();
        auto busy = j.find("busy");
        r.busy = busy != j.end() && busy->is_boolean() && busy->get<bool>();
    }
    r.body = std::move(j);
    return r;
}

std::optional<std::string> LineBuffer::next_line() {
    const size_t nl = data_.find('\n', start_);
    if (nl == std::string::npos) {
        // Compact only when nothing is pending, so appends stay amortized O(n).
        if (start_ == data_.size()) {
            data_.clear();
            start_ = 0;
        }
        return std::nullopt;
    }
    size_t end = nl;
    if (end > start_ && data_[end - 1] == '\r') --end;
    std::string line = data_.substr(start_, end - start_);
    start_ = nl + 1;
    if (start_ > 4096 && start_ * 2 > data_.size()) {
        data_.erase(0, start_);
        start_ = 0;
    }
    return line;
}

bool LineBuffer::overflowed() const {
    // Everything buffered counts, complete lines too: the reader stops reading while a
    // request is pending, so this bounds memory whatever the peer sends.
    return buffered() > max_line_;
}

Counters& Counters::operator+=(const Counters& other) {
    requests += other.requests;
    connections_total += other.connections_total;
    bytes_in += other.bytes_in;
    bytes_out += other.bytes_out;
    for (int i = 0; i < 5; ++i) status_class[i] += other.status_class[i];
    tls_handshakes += other.tls_handshakes;
    tls_resumed += other.tls_resumed;
    for (size_t i = 0; i < kTlsFailureKinds; ++i) tls_failures[i] += other.tls_failures[i];
    return *this;
}

StatusTotals compute_totals(const std::vector<WorkerStatus>& workers) {
    StatusTotals t;
    for (const auto& w : workers) {
        ++t.workers;
        t += w;
        t.rps += w.rps;
        t.connections_active += w.connections_active;
        t.rss_bytes += w.rss_bytes.value_or(0);
    }
    t.rps = round1(t.rps);
    return t;
}

Json status_to_json(const StatusSnapshot& s) {
    const MasterStatus& m = s.master;
    Json master = {
        {"pid", m.pid},
        {"version", m.version},
        {"uptime_s", m.uptime_s},
        {"generation", m.generation},
        {"config_file", m.config_file},
        {"listeners", m.listeners},
        {"socket_activated", m.socket_activated},
        {"reloading", m.reloading},
        {"stopping", m.stopping},
        {"target_workers", m.target_workers},
        {"reloads_ok", m.reloads_ok},
        {"reloads_failed", m.reloads_failed},
        {"last_reload_error", m.last_reload_error ? Json(*m.last_reload_error) : Json(nullptr)},
    };
    Json workers = Json::array();
    for (const auto& w : s.workers) {
        Json jw = {
            {"pid", w.pid},
            {"slot", w.slot},
            {"generation", w.generation},
            {"state", w.state},
            {"uptime_s", w.uptime_s},
            {"rps", round1(w.rps)},
            {"connections_active", w.connections_active},
            {"rss_bytes", opt_json(w.rss_bytes)},
            {"heartbeat_age_ms", opt_json(w.heartbeat_age_ms)},
        };
        put_counters(jw, w);
        workers.push_back(std::move(jw));
    }
    const StatusTotals& t = s.totals;
    Json totals = {
        {"workers", t.workers},
        {"rps", round1(t.rps)},
        {"connections_active", t.connections_active},
        {"rss_bytes", t.rss_bytes},
    };
    put_counters(totals, t);
    Json exited = {{"workers", s.exited.workers}};
    put_counters(exited, s.exited);
    Json upstreams = Json::array();
    for (const UpstreamStatus& u : s.upstreams) {
        upstreams.push_back({{"name", u.name},
                             {"requests", u.requests},
                             {"retries", u.retries},
                             {"errors",
                              {{"connect", u.connect_errors},
                               {"timeout", u.timeouts},
                               {"bad_response", u.bad_responses},
                               {"queue_full", u.queue_full}}},
                             {"connections_open", u.open},
                             {"connections_idle", u.idle}});
    }
    Json out{{"master", std::move(master)},
             {"workers", std::move(workers)},
             {"totals", std::move(totals)},
             {"exited", std::move(exited)},
             {"upstreams", std::move(upstreams)}};
    if (!s.acme.is_null()) out["acme"] = s.acme;
    return out;
}

Result<StatusSnapshot> status_from_json(const Json& j) {
    try {
        StatusSnapshot s;
        const Json& m = j.at("master");
        s.master.pid = m.at("pid").get<pid_t>();
        s.master.version = m.at("version").get<std::string>();
        s.master.uptime_s = get_u64(m, "uptime_s");
        s.master.generation = get_u64(m, "generation");
        s.master.config_file = m.at("config_file").get<std::string>();
        s.master.listeners = m.at("listeners").get<std::vector<std::string>>();
        s.master.socket_activated = m.at("socket_activated").get<bool>();
        s.master.reloading = m.at("reloading").get<bool>();
        s.master.stopping = m.at("stopping").get<bool>();
        s.master.target_workers = m.at("target_workers").get<unsigned>();
        s.master.reloads_ok = get_u64(m, "reloads_ok");
        s.master.reloads_failed = get_u64(m, "reloads_failed");
        if (const Json& e = m.at("last_reload_error"); !e.is_null())
            s.master.last_reload_error = e.get<std::string>();
        for (const Json& jw : j.at("workers")) {
            WorkerStatus w;
            w.pid = jw.at("pid").get<pid_t>();
            w.slot = jw.at("slot").get<int>();
            w.generation = get_u64(jw, "generation");
            w.state = jw.at("state").get<std::string>();
            w.uptime_s = get_u64(jw, "uptime_s");
            w.rps = jw.at("rps").get<double>();
            w.connections_active = get_u64(jw, "connections_active");
            get_counters(jw, w);
            w.rss_bytes = get_opt_u64(jw, "rss_bytes");
            w.heartbeat_age_ms = get_opt_u64(jw, "heartbeat_age_ms");
            s.workers.push_back(std::move(w));
        }
        if (j.contains("acme")) s.acme = j["acme"];
        const Json& t = j.at("totals");
        s.totals.workers = t.at("workers").get<unsigned>();
        s.totals.rps = t.at("rps").get<double>();
        s.totals.connections_active = get_u64(t, "connections_active");
        s.totals.rss_bytes = get_u64(t, "rss_bytes");
        get_counters(t, s.totals);
        // Absent from masters older than the field: nothing known about exited workers.
        if (const auto it = j.find("exited"); it != j.end()) {
            s.exited.workers = get_u64(*it, "workers");
            get_counters(*it, s.exited);
        }
        if (const auto it = j.find("upstreams"); it != j.end()) {
            for (const Json& ju : *it) {
                UpstreamStatus u;
                u.name = ju.at("name").get<std::string>();
                u.requests = get_u64(ju, "requests");
                u.retries = get_u64(ju, "retries");
                const Json& e = ju.at("errors");
                u.connect_errors = get_u64(e, "connect");
                u.timeouts = get_u64(e, "timeout");
                u.bad_responses = get_u64(e, "bad_response");
                u.queue_full = get_u64(e, "queue_full");
                u.open = get_u64(ju, "connections_open");
                u.idle = get_u64(ju, "connections_idle");
                s.upstreams.push_back(std::move(u));
            }
        }
        return s;
    } catch (const std::exception& e) {
        return make_error(std::string("malformed status: ") + e.what());
    }
}

}  // namespace minid::control
