// Prometheus rendering. Per-worker series carry worker (pid) and generation labels; a worker's
// series end when it exits, which Prometheus reads as the end of that counter, not a reset.
#include "daemon/control_metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace minid {
namespace {

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : "NaN";
}
std::string number(uint64_t v) {
    return std::to_string(v);
}

class Writer {
  public:
    void family(const char* name, const char* type, const char* help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    // `labels` is already rendered ("" or `a="b",c="d"`).
    void sample(const char* name, const std::string& labels, const std::string& value) {
        out_ += name;
        if (!labels.empty()) {
            out_ += '{';
            out_ += labels;
            out_ += '}';
        }
        out_ += ' ';
        out_ += value;
        out_ += '\n';
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

std::string label(const char* name, std::string_view value) {
    return std::string(name) + "=\"" + escape_label_value(value) + '"';
}

std::string worker_labels(const control::WorkerStatus& w) {
    return label("worker", std::to_string(w.pid)) + "," +
           label("generation", std::to_string(w.generation));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string render_prometheus(const control::StatusSnapshot& s) {
    Writer w;
    const control::MasterStatus& m = s.master;

    w.family("minid_info", "gauge", "Always 1; the labels name the running minid version.");
    w.sample("minid_info", label("version", m.version), "1");
    w.family("minid_master_uptime_seconds", "gauge", "Seconds since the master started.");
    w.sample("minid_master_uptime_seconds", "", number(m.uptime_s));
    w.family("minid_generation", "gauge", "The configuration generation serving requests.");
    w.sample("minid_generation", "", number(m.generation));
    w.family("minid_reloading", "gauge", "1 while a reload is starting a new generation.");
    w.sample("minid_reloading", "", m.reloading ? "1" : "0");
    w.family("minid_reloads_total", "counter", "Reloads since the master started, by result.");
    w.sample("minid_reloads_total", label("result", "ok"), number(m.reloads_ok));
    w.sample("minid_reloads_total", label("result", "failed"), number(m.reloads_failed));
    w.family("minid_target_workers", "gauge", "Workers the serving generation should have.");
    w.sample("minid_target_workers", "", number(uint64_t{m.target_workers}));

    w.family("minid_workers", "gauge", "Worker processes by state.");
    for (const char* state : {"starting", "serving", "draining"}) {
        uint64_t n = 0;
        for (const auto& wk : s.workers) n += wk.state == state ? 1 : 0;
        w.sample("minid_workers", label("state", state), number(n));
    }

    // One family at a time, each with a line per worker, as the format requires.
    auto per_worker = [&](const char* name, const char* type, const char* help,
                          const std::function<std::string(const control::WorkerStatus&)>& value) {
        w.family(name, type, help);
        for (const auto& wk : s.workers) w.sample(name, worker_labels(wk), value(wk));
    };
    per_worker("minid_requests_total", "counter", "Requests answered by the worker.",
               [](const auto& wk) { return number(wk.requests); });
    w.family("minid_responses_total", "counter", "Responses by the worker, by status class.");
    for (const auto& wk : s.workers) {
        static constexpr const char* kCodes[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
        for (int i = 0; i < 5; ++i)
            w.sample("minid_responses_total", worker_labels(wk) + "," + label("code", kCodes[i]),
                     number(wk.status_class[i]));
    }
    per_worker("minid_requests_per_second", "gauge", "Requests per second over the last 5 seconds.",
               [](const auto& wk) { return number(wk.rps); });
    per_worker("minid_received_bytes_total", "counter", "Bytes read from clients.",
               [](const auto& wk) { return number(wk.bytes_in); });
    per_worker("minid_sent_bytes_total", "counter", "Bytes written to clients.",
               [](const auto& wk) { return number(wk.bytes_out); });
    per_worker("minid_connections_active", "gauge", "Open client connections.",
               [](const auto& wk) { return number(wk.connections_active); });
    per_worker("minid_connections_total", "counter", "Client connections accepted.",
               [](const auto& wk) { return number(wk.connections_total); });
    w.family("minid_tls_handshakes_total", "counter",
             "TLS handshakes completed by the worker: full, or resumed from a session ticket.");
    for (const auto& wk : s.workers) {
        w.sample("minid_tls_handshakes_total", worker_labels(wk) + "," + label("kind", "full"),
                 number(wk.tls_handshakes));
        w.sample("minid_tls_handshakes_total", worker_labels(wk) + "," + label("kind", "resumed"),
                 number(wk.tls_resumed));
    }
    w.family("minid_tls_handshake_failures_total", "counter",
             "TLS handshakes that did not complete, by reason.");
    for (const auto& wk : s.workers)
        for (size_t i = 0; i < kTlsFailureKinds; ++i)
            w.sample("minid_tls_handshake_failures_total",
                     worker_labels(wk) + "," + label("reason", kTlsFailureNames[i]),
                     number(wk.tls_failures[i]));
    per_worker("minid_worker_uptime_seconds", "gauge", "Seconds since the worker was started.",
               [](const auto& wk) { return number(wk.uptime_s); });

    w.family("minid_worker_resident_memory_bytes", "gauge", "Resident set size of the worker.");
    for (const auto& wk : s.workers)
        if (wk.rss_bytes)
            w.sample("minid_worker_resident_memory_bytes", worker_labels(wk),
                     number(*wk.rss_bytes));
    w.family("minid_worker_heartbeat_age_seconds", "gauge",
             "Seconds since the worker's event loop last turned.");
    for (const auto& wk : s.workers)
        if (wk.heartbeat_age_ms)
            w.sample("minid_worker_heartbeat_age_seconds", worker_labels(wk),
                     number(static_cast<double>(*wk.heartbeat_age_ms) / 1000.0));
    if (s.acme.is_object() && s.acme.contains("certificates")) {
        const auto& certs = s.acme["certificates"];
        auto cert_labels = [](const control::Json& c) {
            const auto& names = c.value("names", control::Json::array());
            return label("site", c.value("site", "")) + "," +
                   label("name", names.empty() ? "" : names[0].get<std::string>());
        };
        w.family("minid_certificate_expiry_timestamp_seconds", "gauge",
                 "When the ACME certificate of a site with tls = auto expires (unix time).");
        for (const auto& c : certs)
            if (c.value("have_certificate", false))
                w.sample("minid_certificate_expiry_timestamp_seconds", cert_labels(c),
                         number(c.value("not_after", uint64_t{0})));
        w.family("minid_certificate_renewal_failures_total", "counter",
                 "Failed attempts to obtain or renew the certificate.");
        for (const auto& c : certs)
            w.sample("minid_certificate_renewal_failures_total", cert_labels(c),
                     number(c.value("renewal_failures", uint64_t{0})));
    }

    // The reverse proxy, per [upstream], summed over the serving generation (the counters
    // start again with each generation, which Prometheus reads as a reset).
    auto per_upstream = [&](const char* name, const char* type, const char* help,
                            const std::function<uint64_t(const control::UpstreamStatus&)>& value) {
        w.family(name, type, help);
        for (const auto& u : s.upstreams)
            w.sample(name, label("upstream", u.name), number(value(u)));
    };
    per_upstream("minid_upstream_requests_total", "counter", "Requests the upstream answered.",
                 [](const auto& u) { return u.requests; });
    per_upstream("minid_upstream_retries_total", "counter",
                 "Tries after the first (refused connects, lost pooled connections).",
                 [](const auto& u) { return u.retries; });
    w.family("minid_upstream_errors_total", "counter",
             "Failures talking to the upstream, by kind.");
    for (const auto& u : s.upstreams) {
        const std::pair<const char*, uint64_t> kinds[] = {{"connect", u.connect_errors},
                                                          {"timeout", u.timeouts},
                                                          {"bad_response", u.bad_responses},
                                                          {"queue_full", u.queue_full}};
        for (const auto& [kind, n] : kinds)
            w.sample("minid_upstream_errors_total",
                     label("upstream", u.name) + "," + label("kind", kind), number(n));
    }
    w.family("minid_upstream_connections", "gauge", "Connections open to the upstream, by state.");
    for (const auto& u : s.upstreams) {
        w.sample("minid_upstream_connections",
                 label("upstream", u.name) + "," + label("state", "busy"),
                 number(u.open - std::min(u.open, u.idle)));
        w.sample("minid_upstream_connections",
                 label("upstream", u.name) + "," + label("state", "idle"), number(u.idle));
    }
    return w.take();
}

}  // namespace minid
