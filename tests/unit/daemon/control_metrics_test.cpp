// Tests for the Prometheus rendering, checked line by line by a small parser of the text
// exposition format 0.0.4 (names, labels, escapes, values, HELP/TYPE placement, grouping).
#include "daemon/control_metrics.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

namespace minid {
namespace {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct Exposition {
    std::vector<Sample> samples;
    std::map<std::string, std::string> types;
    std::map<std::string, std::string> helps;
    std::string find_value_error;

    // The value of the single sample with this name and (a subset of) labels.
    std::optional<double> value(const std::string& name,
                                const std::map<std::string, std::string>& labels = {}) const {
        std::optional<double> found;
        for (const auto& s : samples) {
            if (s.name != name) continue;
            bool match = true;
            for (const auto& [k, v] : labels)
                if (!s.labels.count(k) || s.labels.at(k) != v) match = false;
            if (!match) continue;
            if (found) return std::nullopt;  // ambiguous
            found = s.value;
        }
        return found;
    }
};

bool is_name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool is_name_char(char c) {
    return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

bool valid_metric_name(const std::string& n) {
    if (n.empty() || !is_name_start(n[0])) return false;
    for (char c : n)
        if (!is_name_char(c)) return false;
    return true;
}

bool parse_value(const std::string& text, double& out) {
    if (text == "+Inf") return out = INFINITY, true;
    if (text == "-Inf") return out = -INFINITY, true;
    if (text == "NaN") return out = NAN, true;
    if (text.empty()) return false;
    size_t used = 0;
    try {
        out = std::stod(text, &used);
    } catch (...) {
        return false;
    }
    return used == text.size();
}

// Parses and validates; on error returns the message with the line number.
std::string parse_exposition(const std::string& text, Exposition& out) {
    if (text.empty() || text.back() != '\n') return "must end with a newline";
    std::istringstream in(text);
    std::string line;
    int n = 0;
    std::string current_family;  // family of the previous sample
    std::set<std::string> finished_families;
    std::set<std::string> series;
    while (std::getline(in, line)) {
        ++n;
        const std::string where = "line " + std::to_string(n) + " '" + line + "': ";
        if (line.empty()) continue;
        if (line[0] == '#') {
            std::istringstream ls(line);
            std::string hash, kw, name;
            ls >> hash >> kw >> name;
            if (kw != "HELP" && kw != "TYPE") continue;  // plain comment
            if (!valid_metric_name(name)) return where + "bad metric name";
            std::string rest;
            std::getline(ls, rest);
            if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
            if (finished_families.count(name) || (current_family == name))
                return where + kw + " after the family's samples";
            if (kw == "TYPE") {
                static const std::set<std::string> kTypes = {"counter", "gauge", "histogram",
                                                             "summary", "untyped"};
                if (!kTypes.count(rest)) return where + "unknown type";
                if (out.types.count(name)) return where + "second TYPE";
                out.types[name] = rest;
            } else {
                if (out.helps.count(name)) return where + "second HELP";
                if (rest.empty()) return where + "empty HELP";
                out.helps[name] = rest;
            }
            continue;
        }
        Sample s;
        size_t i = 0;
        while (i < line.size() && is_name_char(line[i])) ++i;
        s.name = line.substr(0, i);
        if (!valid_metric_name(s.name)) return where + "bad metric name";
        std::string label_text;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                size_t start = i;
                while (i < line.size() &&
                       (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_'))
                    ++i;
                std::string lname = line.substr(start, i - start);
                if (lname.empty() || std::isdigit(static_cast<unsigned char>(lname[0])))
                    return where + "bad label name";
                if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
                    return where + "label without =\"";
                i += 2;
                std::string value;
                for (;;) {
                    if (i >= line.size()) return where + "unterminated label value";
                    char c = line[i++];
                    if (c == '"') break;
                    if (c == '\\') {
                        if (i >= line.size()) return where + "dangling escape";
                        char e = line[i++];
                        if (e == 'n')
                            value += '\n';
                        else if (e == '\\' || e == '"')
                            value += e;
                        else
                            return where + "bad escape";
                    } else {
                        value += c;
                    }
                }
                if (s.labels.count(lname)) return where + "repeated label";
                s.labels[lname] = value;
                if (i < line.size() && line[i] == ',')
                    ++i;
                else if (i < line.size() && line[i] != '}')
                    return where + "expected , or }";
            }
            if (i >= line.size()) return where + "unterminated labels";
            label_text = line.substr(line.find('{'), i - line.find('{') + 1);
            ++i;
        }
        if (i >= line.size() || line[i] != ' ')
            return where + "expected one space before the value";
        std::string rest = line.substr(i + 1);
        std::string value_text = rest.substr(0, rest.find(' '));
        if (rest.find(' ') != std::string::npos) {
            std::string ts = rest.substr(rest.find(' ') + 1);
            if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos)
                return where + "bad timestamp";
        }
        if (!parse_value(value_text, s.value)) return where + "bad value";
        // For counters and gauges the sample name is the family name.
        const std::string family = s.name;
        if (!out.types.count(family)) return where + "sample before its TYPE line";
        const std::string& type = out.types[family];
        if (type == "counter" && (s.value < 0 || std::isnan(s.value)))
            return where + "negative counter";
        if (family != current_family) {
            if (finished_families.count(family)) return where + "family samples are not contiguous";
            if (!current_family.empty()) finished_families.insert(current_family);
            current_family = family;
        }
        if (!series.insert(s.name + label_text).second) return where + "duplicate series";
        out.samples.push_back(std::move(s));
    }
    return "";
}

control::StatusSnapshot snapshot() {
    control::StatusSnapshot s;
    s.master.pid = 10;
    s.master.version = "0.1.0";
    s.master.uptime_s = 99;
    s.master.generation = 4;
    s.master.reloads_ok = 3;
    s.master.reloads_failed = 2;
    s.master.target_workers = 2;
    s.master.reloading = true;
    auto worker = [](pid_t pid, uint64_t gen, const char* state, uint64_t requests) {
        control::WorkerStatus w;
        w.pid = pid;
        w.generation = gen;
        w.state = state;
        w.requests = requests;
        w.rps = 12.5;
        w.connections_active = 2;
        w.connections_total = 9;
        w.bytes_in = 1000;
        w.bytes_out = 123456789012ull;
        w.status_class[1] = requests - 3;
        w.status_class[3] = 2;
        w.status_class[4] = 1;
        w.rss_bytes = 5 << 20;
        w.heartbeat_age_ms = 250;
        w.uptime_s = 7;
        return w;
    };
    s.workers = {worker(21, 3, "draining", 500), worker(31, 4, "serving", 700),
                 worker(32, 4, "serving", 800)};
    s.workers[2].rss_bytes.reset();
    s.totals = control::compute_totals(s.workers);
    return s;
}

TEST(PrometheusRendering, EveryLineIsValidExposition) {
    Exposition e;
    const std::string text = render_prometheus(snapshot());
    EXPECT_EQ(parse_exposition(text, e), "") << text;
    EXPECT_GT(e.samples.size(), 20u);
    for (const auto& [name, type] : e.types) {
        EXPECT_TRUE(e.helps.count(name)) << name << " has no HELP";
        if (type == "counter") EXPECT_TRUE(name.ends_with("_total")) << name;
    }
}

TEST(PrometheusRendering, PerWorkerCountersCarryPidAndGeneration) {
    Exposition e;
    ASSERT_EQ(parse_exposition(render_prometheus(snapshot()), e), "");
    EXPECT_EQ(e.types["minid_requests_total"], "counter");
    EXPECT_EQ(e.value("minid_requests_total", {{"worker", "21"}, {"generation", "3"}}), 500.0);
    EXPECT_EQ(e.value("minid_requests_total", {{"worker", "32"}, {"generation", "4"}}), 800.0);
    EXPECT_EQ(e.value("minid_responses_total", {{"worker", "31"}, {"code", "2xx"}}), 697.0);
    EXPECT_EQ(e.value("minid_responses_total", {{"worker", "31"}, {"code", "5xx"}}), 1.0);
    EXPECT_EQ(e.value("minid_sent_bytes_total", {{"worker", "31"}}), 123456789012.0);
    EXPECT_EQ(e.value("minid_connections_active", {{"worker", "31"}}), 2.0);
    EXPECT_EQ(e.value("minid_requests_per_second", {{"worker", "31"}}), 12.5);
    EXPECT_EQ(e.value("minid_worker_heartbeat_age_seconds", {{"worker", "31"}}), 0.25);
    EXPECT_EQ(e.value("minid_worker_resident_memory_bytes", {{"worker", "31"}}), 5.0 * (1 << 20));
    EXPECT_FALSE(e.value("minid_worker_resident_memory_bytes", {{"worker", "32"}}).has_value())
        << "an unknown RSS is left out, not reported as 0";
}

TEST(PrometheusRendering, MasterGauges) {
    Exposition e;
    ASSERT_EQ(parse_exposition(render_prometheus(snapshot()), e), "");
    EXPECT_EQ(e.value("minid_generation"), 4.0);
    EXPECT_EQ(e.value("minid_reloading"), 1.0);
    EXPECT_EQ(e.value("minid_reloads_total", {{"result", "ok"}}), 3.0);
    EXPECT_EQ(e.value("minid_reloads_total", {{"result", "failed"}}), 2.0);
    EXPECT_EQ(e.value("minid_workers", {{"state", "serving"}}), 2.0);
    EXPECT_EQ(e.value("minid_workers", {{"state", "draining"}}), 1.0);
    EXPECT_EQ(e.value("minid_workers", {{"state", "starting"}}), 0.0);
    EXPECT_EQ(e.value("minid_target_workers"), 2.0);
}

TEST(PrometheusRendering, NoWorkersStillValid) {
    control::StatusSnapshot s = snapshot();
    s.workers.clear();
    s.totals = control::compute_totals(s.workers);
    Exposition e;
    EXPECT_EQ(parse_exposition(render_prometheus(s), e), "");
    EXPECT_EQ(e.value("minid_workers", {{"state", "serving"}}), 0.0);
}

TEST(PrometheusRendering, LabelValuesAreEscaped) {
    EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    control::StatusSnapshot s = snapshot();
    s.master.version = "1.0 \"odd\"\\\n";
    Exposition e;
    ASSERT_EQ(parse_exposition(render_prometheus(s), e), "");
    ASSERT_EQ(e.samples[0].name, "minid_info");
    EXPECT_EQ(e.samples[0].labels.at("version"), s.master.version);
}

TEST(PrometheusParser, RejectsBrokenExposition) {
    Exposition e;
    EXPECT_NE(parse_exposition("minid_x 1\n", e), "") << "sample without TYPE";
    Exposition f;
    EXPECT_NE(parse_exposition("# TYPE a counter\na{x=\"1} 2\n", f), "");
    Exposition g;
    EXPECT_NE(parse_exposition("# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n", g), "");
    Exposition h;
    EXPECT_NE(parse_exposition("# TYPE a gauge\na one\n", h), "");
    Exposition i;
    EXPECT_NE(parse_exposition("# TYPE a gauge\na 1", i), "") << "no final newline";
}

}  // namespace
}  // namespace minid
