// Tests for the Prometheus rendering, checked line by line by a small parser of the text
// exposition format (tests/unit/ctl/prometheus_text.hpp).
#include "daemon/control_metrics.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/ctl/prometheus_text.hpp"

namespace minid {
namespace {

using test::prometheus::Exposition;
using test::prometheus::parse_exposition;

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
        w.tls_handshakes = requests / 10;
        w.tls_resumed = requests / 100;
        w.tls_failures[static_cast<size_t>(TlsFailure::not_tls)] = 4;
        w.rss_bytes = 5 << 20;
        w.heartbeat_age_ms = 250;
        w.uptime_s = 7;
        return w;
    };
    s.workers = {worker(21, 3, "draining", 500), worker(31, 4, "serving", 700),
                 worker(32, 4, "serving", 800)};
    s.workers[2].rss_bytes.reset();
    s.totals = control::compute_totals(s.workers);
    control::UpstreamStatus u;
    u.name = "app";
    u.requests = 40;
    u.retries = 2;
    u.timeouts = 1;
    u.open = 5;
    u.idle = 3;
    s.upstreams = {u};
    return s;
}

TEST(PrometheusRendering, UpstreamCountersCarryTheirName) {
    Exposition e;
    ASSERT_EQ(parse_exposition(render_prometheus(snapshot()), e), "");
    EXPECT_EQ(e.types["minid_upstream_requests_total"], "counter");
    EXPECT_EQ(e.value("minid_upstream_requests_total", {{"upstream", "app"}}), 40.0);
    EXPECT_EQ(e.value("minid_upstream_retries_total", {{"upstream", "app"}}), 2.0);
    EXPECT_EQ(e.value("minid_upstream_errors_total", {{"upstream", "app"}, {"kind", "timeout"}}),
              1.0);
    EXPECT_EQ(e.value("minid_upstream_connections", {{"upstream", "app"}, {"state", "idle"}}), 3.0);
    EXPECT_EQ(e.value("minid_upstream_connections", {{"upstream", "app"}, {"state", "busy"}}), 2.0);
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
    EXPECT_EQ(e.types["minid_tls_handshakes_total"], "counter");
    EXPECT_EQ(e.value("minid_tls_handshakes_total", {{"worker", "31"}, {"kind", "full"}}), 70.0);
    EXPECT_EQ(e.value("minid_tls_handshakes_total", {{"worker", "31"}, {"kind", "resumed"}}), 7.0);
    EXPECT_EQ(
        e.value("minid_tls_handshake_failures_total", {{"worker", "31"}, {"reason", "not_tls"}}),
        4.0);
    EXPECT_EQ(
        e.value("minid_tls_handshake_failures_total", {{"worker", "31"}, {"reason", "timeout"}}),
        0.0);
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

namespace minid {
namespace {

control::Json acme_report() {
    return control::Json::parse(R"({"ca":"https://ca.test/dir","certificates":[
        {"site":"shop","names":["a.test","b.test"],"have_certificate":true,"issuer":"/CN=CA",
         "serial":"0A","not_before":1000,"not_after":1893456000,"next_renewal":1800000000,
         "attempts":0,"retry_at":0,"last_error":"","renewal_failures":3},
        {"site":"new","names":["c.test"],"have_certificate":false,"attempts":2,
         "retry_at":1700000600,"last_error":"DNS: cannot resolve ca.test","renewal_failures":2}]})");
}

TEST(PrometheusRendering, AcmeCertificateExpiryAndFailures) {
    control::StatusSnapshot s = snapshot();
    s.acme = acme_report();
    Exposition e;
    ASSERT_EQ(parse_exposition(render_prometheus(s), e), "");
    EXPECT_EQ(e.types["minid_certificate_expiry_timestamp_seconds"], "gauge");
    EXPECT_EQ(e.value("minid_certificate_expiry_timestamp_seconds",
                      {{"site", "shop"}, {"name", "a.test"}}),
              1893456000.0);
    EXPECT_FALSE(e.value("minid_certificate_expiry_timestamp_seconds", {{"site", "new"}}))
        << "no certificate, no expiry";
    EXPECT_EQ(e.value("minid_certificate_renewal_failures_total", {{"site", "new"}}), 2.0);
    EXPECT_EQ(e.value("minid_certificate_renewal_failures_total", {{"site", "shop"}}), 3.0);
    // Without tls = auto there are no certificate series at all.
    Exposition none;
    ASSERT_EQ(parse_exposition(render_prometheus(snapshot()), none), "");
    EXPECT_EQ(none.types.count("minid_certificate_renewal_failures_total"), 0u);
}

TEST(StatusJson, AcmeReportRoundTrips) {
    control::StatusSnapshot s = snapshot();
    s.acme = acme_report();
    auto back = control::status_from_json(control::status_to_json(s));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->acme, s.acme);
    EXPECT_FALSE(control::status_to_json(snapshot()).contains("acme"));
}

}  // namespace
}  // namespace minid
