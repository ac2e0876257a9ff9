// Status table rendering; column widths follow the widest cell so large counters stay aligned.
#include "ctl/status_table.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <vector>

#include "ctl/human_units.hpp"

namespace minid::ctl {
namespace {

enum class Align { left, right };

struct Column {
    const char* title;
    Align align;
};

constexpr std::array<Column, 13> kColumns = {{
    {"PID", Align::left},
    {"GEN", Align::right},
    {"STATE", Align::left},
    {"UPTIME", Align::right},
    {"REQ", Align::right},
    {"REQ/S", Align::right},
    {"CONNS", Align::right},
    {"OUT", Align::right},
    {"2XX", Align::right},
    {"3XX", Align::right},
    {"4XX", Align::right},
    {"5XX", Align::right},
    {"RSS", Align::right},
}};
using Row = std::array<std::string, kColumns.size()>;

Row worker_row(const control::WorkerStatus& w) {
    return {std::to_string(w.pid),
            std::to_string(w.generation),
            w.state,
            format_duration(w.uptime_s),
            std::to_string(w.requests),
            format_rate(w.rps),
            std::to_string(w.connections_active),
            format_bytes(w.bytes_out),
            std::to_string(w.status_class[1]),
            std::to_string(w.status_class[2]),
            std::to_string(w.status_class[3]),
            std::to_string(w.status_class[4]),
            w.rss_bytes ? format_bytes(*w.rss_bytes) : "-"};
}

Row totals_row(const control::StatusTotals& t) {
    return {"total",
            "",
            "",
            "",
            std::to_string(t.requests),
            format_rate(t.rps),
            std::to_string(t.connections_active),
            format_bytes(t.bytes_out),
            std::to_string(t.status_class[1]),
            std::to_string(t.status_class[2]),
            std::to_string(t.status_class[3]),
            std::to_string(t.status_class[4]),
            format_bytes(t.rss_bytes)};
}

// The cumulative columns since the master started: the live workers plus those that exited.
Row since_start_row(const control::StatusTotals& t, const control::ExitedTotals& e) {
    control::Counters all = t;
    all += e;
    return {"since start",
            "",
            "",
            "",
            std::to_string(all.requests),
            "",
            "",
            format_bytes(all.bytes_out),
            std::to_string(all.status_class[1]),
            std::to_string(all.status_class[2]),
            std::to_string(all.status_class[3]),
            std::to_string(all.status_class[4]),
            ""};
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
    return out;
}

std::string pad(const std::string& cell, size_t width, Align align) {
    const std::string fill(width > cell.size() ? width - cell.size() : 0, ' ');
    return align == Align::left ? cell + fill : fill + cell;
}

// The live workers' TLS handshakes, when there were any: "tls: 120 handshakes, 98 resumed
// (82%); 3 failed: version 2, timeout 1".
std::string tls_line(const control::StatusTotals& t) {
    uint64_t failed = 0;
    std::vector<std::string> kinds;
    for (size_t i = 0; i < kTlsFailureKinds; ++i) {
        failed += t.tls_failures[i];
        if (t.tls_failures[i])
            kinds.push_back(std::string(kTlsFailureNames[i]) + " " +
                            std::to_string(t.tls_failures[i]));
    }
    const uint64_t done = t.tls_handshakes + t.tls_resumed;
    if (done == 0 && failed == 0) return "";
    std::string line = "\ntls:        " + std::to_string(done) + " handshakes, " +
                       std::to_string(t.tls_resumed) + " resumed";
    if (done) line += " (" + std::to_string(t.tls_resumed * 100 / done) + "%)";
    line += "; " + std::to_string(failed) + " failed";
    if (!kinds.empty()) line += ": " + join(kinds, ", ");
    return line + "\n";
}

}  // namespace

namespace {

std::string utc(int64_t t) {
    if (t <= 0) return "-";
    char buf[32];
    std::tm tm{};
    const auto tt = static_cast<std::time_t>(t);
    ::gmtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

// ACME certificates (sites with tls = auto): one block each, since errors are long.
std::string certificates_section(const control::Json& acme) {
    if (!acme.is_object() || !acme.contains("certificates")) return {};
    std::string out = "\ncertificates from " + acme.value("ca", std::string("?")) + ":\n";
    for (const auto& c : acme["certificates"]) {
        std::string names;
        for (const auto& n : c.value("names", control::Json::array()))
            names += (names.empty() ? "" : " ") + n.get<std::string>();
        out += "  [site " + c.value("site", std::string()) + "] " + names + "\n";
        if (c.value("have_certificate", false)) {
            out += "    issuer " + c.value("issuer", std::string()) + ", serial " +
                   c.value("serial", std::string()) + "\n";
            out += "    expires " + utc(c.value("not_after", int64_t{0})) + " UTC, renewal " +
                   utc(c.value("next_renewal", int64_t{0})) + " UTC\n";
        } else {
            out += "    no certificate yet\n";
        }
        const unsigned attempts = c.value("attempts", 0u);
        if (attempts > 0)
            out += "    " + std::to_string(attempts) + " failed attempt(s), next " +
                   utc(c.value("retry_at", int64_t{0})) +
                   " UTC: " + c.value("last_error", std::string()) + "\n";
    }
    return out;
}

}  // namespace

std::string render_status_table(const control::StatusSnapshot& s) {
    const control::MasterStatus& m = s.master;
    unsigned starting = 0, serving = 0, draining = 0;
    for (const auto& w : s.workers) {
        starting += w.state == "starting";
        serving += w.state == "serving";
        draining += w.state == "draining";
    }

    std::string out;
    out += "minid " + m.version + ", master pid " + std::to_string(m.pid) + ", up " +
           format_duration(m.uptime_s) + ", generation " + std::to_string(m.generation);
    if (m.reloading) out += " (reloading)";
    if (m.stopping) out += " (stopping)";
    out += "\n";
    out += "config:     " +
           (m.config_file.empty() ? std::string("(built-in settings)") : m.config_file) + "\n";
    out += "listening:  " + (m.listeners.empty() ? std::string("-") : join(m.listeners, ", ")) +
           (m.socket_activated ? " (from systemd)" : "") + "\n";
    std::string workers = std::to_string(serving) + " serving";
    if (starting) workers += ", " + std::to_string(starting) + " starting";
    if (draining) workers += ", " + std::to_string(draining) + " draining";
    out += "workers:    " + workers + " (target " + std::to_string(m.target_workers) + ")";
    if (s.exited.workers) out += ", " + std::to_string(s.exited.workers) + " exited";
    out += "\n";
    out += "reloads:    " + std::to_string(m.reloads_ok) + " ok, " +
           std::to_string(m.reloads_failed) + " failed\n";
    if (m.last_reload_error) {
        // Config errors span lines (one per problem); indent them under the label.
        std::string err = *m.last_reload_error;
        for (size_t pos = err.find('\n'); pos != std::string::npos; pos = err.find('\n', pos + 1))
            err.insert(pos + 1, "            ");
        out += "last error: " + err + "\n";
    }
    out += "\n";

    std::vector<Row> rows;
    Row header;
    for (size_t i = 0; i < kColumns.size(); ++i) header[i] = kColumns[i].title;
    rows.push_back(header);
    for (const auto& w : s.workers) rows.push_back(worker_row(w));
    rows.push_back(totals_row(s.totals));
    if (s.exited.workers) rows.push_back(since_start_row(s.totals, s.exited));

    std::array<size_t, kColumns.size()> width{};
    for (const Row& r : rows)
        for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    for (const Row& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i) {
            if (i) line += "  ";
            line += pad(r[i], width[i], kColumns[i].align);
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    // The reverse proxy: one line per [upstream], for the serving generation.
    if (!s.upstreams.empty()) out += "\n";
    for (const control::UpstreamStatus& u : s.upstreams) {
        out += "upstream " + u.name + ": " + std::to_string(u.requests) + " requests, " +
               std::to_string(u.retries) + " retries; errors: " + std::to_string(u.connect_errors) +
               " connect, " + std::to_string(u.timeouts) + " timeout, " +
               std::to_string(u.bad_responses) + " bad response, " + std::to_string(u.queue_full) +
               " queue full; connections: " + std::to_string(u.open) + " open, " +
               std::to_string(u.idle) + " idle\n";
    }
    out += tls_line(s.totals);
    out += certificates_section(s.acme);
    return out;
}

}  // namespace minid::ctl
