// Tests for the control protocol: request/response lines, version checks, line framing and the
// status schema round trip.
#include "common/control_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace minid::control {
namespace {

TEST(ControlProtocol, RequestsRoundTrip) {
    for (Command c : {Command::status, Command::reload, Command::stop, Command::reopen,
                      Command::workers, Command::metrics}) {
        Request r;
        r.cmd = c;
        r.fast = c == Command::stop;
        r.count = c == Command::workers ? 7 : 0;
        std::string line = encode_request(r);
        ASSERT_FALSE(line.empty());
        EXPECT_EQ(line.back(), '\n');
        EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line only";
        line.pop_back();
        auto back = decode_request(line);
        ASSERT_TRUE(back.ok()) << back.error();
        EXPECT_EQ(back->cmd, c);
        EXPECT_EQ(back->fast, r.fast);
        EXPECT_EQ(back->count, r.count);
    }
}

TEST(ControlProtocol, RequestWireFormat) {
    Request r;
    r.cmd = Command::status;
    EXPECT_EQ(encode_request(r), "{\"v\":1,\"cmd\":\"status\"}\n");
    r.cmd = Command::stop;
    r.fast = true;
    EXPECT_EQ(encode_request(r), "{\"v\":1,\"cmd\":\"stop\",\"fast\":true}\n");
}

TEST(ControlProtocol, RequestWithAnotherVersionNamesBothVersions) {
    auto r = decode_request(R"({"v":2,"cmd":"status"})");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("version 2"), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("version 1"), std::string::npos) << r.error();
}

TEST(ControlProtocol, BadRequestsAreErrorsNotCrashes) {
    for (const char* line :
         {"", "garbage", "[1,2]", "\"status\"", "{}", R"({"cmd":"status"})",
          R"({"v":"1","cmd":"status"})", R"({"v":1})", R"({"v":1,"cmd":7})",
          R"({"v":1,"cmd":"explode"})", R"({"v":1,"cmd":"workers"})",
          R"({"v":1,"cmd":"workers","count":-1})", R"({"v":1,"cmd":"workers","count":"3"})",
          R"({"v":1,"cmd":"workers","count":99999999999})", R"({"v":1,"cmd":"stop","fast":"yes"})",
          "{\"v\":1,\"cmd\":\"st\xff\"}", "{\"v\":1,"}) {
        auto r = decode_request(line);
        EXPECT_FALSE(r.ok()) << line;
        if (!r.ok()) {
            EXPECT_FALSE(r.error().empty());
        }
    }
}

TEST(ControlProtocol, ErrorAndOkResponsesDecode) {
    std::string ok = encode_ok(Json{{"generation", 4}});
    ASSERT_EQ(ok.back(), '\n');
    ok.pop_back();
    auto r = decode_response(ok);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_TRUE(r->ok);
    EXPECT_EQ(r->body.at("generation").get<int>(), 4);

    std::string err = encode_error("minid.conf:3: unknown key 'lsten'\nminid.conf:4: bad");
    err.pop_back();
    EXPECT_EQ(err.find('\n'), std::string::npos) << "newlines in messages are escaped";
    auto e = decode_response(err);
    ASSERT_TRUE(e.ok()) << e.error();
    EXPECT_FALSE(e->ok);
    EXPECT_EQ(e->error, "minid.conf:3: unknown key 'lsten'\nminid.conf:4: bad");
}

TEST(ControlProtocol, BusyAnswerIsMarked) {
    std::string busy = encode_busy("too many control connections");
    busy.pop_back();
    auto b = decode_response(busy);
    ASSERT_TRUE(b.ok()) << b.error();
    EXPECT_FALSE(b->ok);
    EXPECT_TRUE(b->busy);
    EXPECT_EQ(b->error, "too many control connections");
    std::string plain = encode_error("no");
    plain.pop_back();
    EXPECT_FALSE(decode_response(plain)->busy);
}

TEST(ControlProtocol, InvalidUtf8InMessagesStillEncodes) {
    std::string err = encode_error("bad byte \xff here");
    err.pop_back();
    auto e = decode_response(err);
    ASSERT_TRUE(e.ok()) << e.error();
    EXPECT_NE(e->error.find("bad byte"), std::string::npos);
}

TEST(ControlProtocol, ResponseVersionMismatchAndGarbage) {
    auto v = decode_response(R"({"v":9,"ok":true})");
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.error().find("version 9"), std::string::npos) << v.error();
    EXPECT_NE(v.error().find("version 1"), std::string::npos) << v.error();
    for (const char* line : {"HTTP/1.1 400 Bad Request", "", "{\"v\":1}", "{\"v\":1,\"ok\":false}",
                             "{\"v\":1,\"ok\":\"yes\"}", "null", "{\"ok\":true}"})
        EXPECT_FALSE(decode_response(line).ok()) << line;
}

TEST(LineBuffer, SplitsLinesAcrossAppendsAndStripsCr) {
    LineBuffer b(100);
    b.append("{\"a\":1}\r\n{\"b\"");
    EXPECT_TRUE(b.has_line());
    EXPECT_EQ(b.next_line(), "{\"a\":1}");
    EXPECT_FALSE(b.next_line().has_value());
    EXPECT_FALSE(b.has_line());
    b.append(":2}\n\n");
    EXPECT_EQ(b.next_line(), "{\"b\":2}");
    EXPECT_EQ(b.next_line(), "");
    EXPECT_FALSE(b.next_line().has_value());
    EXPECT_EQ(b.buffered(), 0u);
}

TEST(LineBuffer, OverflowsPastTheBound) {
    LineBuffer b(10);
    b.append("0123456789");
    EXPECT_FALSE(b.overflowed());
    b.append("x");
    EXPECT_TRUE(b.overflowed());
}

TEST(LineBuffer, ManyLinesKeepMemoryBounded) {
    LineBuffer b(1 << 20);
    for (int i = 0; i < 10000; ++i) {
        b.append("line " + std::to_string(i) + "\n");
        auto l = b.next_line();
        ASSERT_TRUE(l.has_value());
        EXPECT_EQ(*l, "line " + std::to_string(i));
    }
    EXPECT_EQ(b.buffered(), 0u);
}

StatusSnapshot sample_status() {
    StatusSnapshot s;
    s.master.pid = 100;
    s.master.version = "0.1.0";
    s.master.uptime_s = 3661;
    s.master.generation = 3;
    s.master.config_file = "/etc/minid/minid.conf";
    s.master.listeners = {"127.0.0.1:8080", "[::1]:8080"};
    s.master.socket_activated = true;
    s.master.target_workers = 2;
    s.master.reloads_ok = 2;
    s.master.reloads_failed = 1;
    s.master.last_reload_error = "minid.conf:2: unknown key 'x'";
    WorkerStatus a;
    a.pid = 101;
    a.slot = 0;
    a.generation = 3;
    a.state = "serving";
    a.uptime_s = 60;
    a.requests = 1000;
    a.rps = 12.5;
    a.connections_active = 3;
    a.connections_total = 40;
    a.bytes_in = 5000;
    a.bytes_out = 123456789012ull;
    a.status_class[1] = 990;
    a.status_class[3] = 10;
    a.tls_handshakes = 30;
    a.tls_resumed = 9;
    a.tls_failures[static_cast<size_t>(TlsFailure::version)] = 2;
    a.tls_failures[static_cast<size_t>(TlsFailure::timeout)] = 1;
    a.rss_bytes = 4096 * 1000;
    a.heartbeat_age_ms = 12;
    WorkerStatus b = a;
    b.pid = 102;
    b.slot = 5;
    b.generation = 2;
    b.state = "draining";
    b.rss_bytes.reset();
    b.heartbeat_age_ms.reset();
    s.workers = {a, b};
    s.totals = compute_totals(s.workers);
    s.exited.workers = 4;
    s.exited.requests = 777;
    s.exited.connections_total = 55;
    s.exited.bytes_in = 6000;
    s.exited.bytes_out = 99999;
    s.exited.status_class[1] = 770;
    s.exited.status_class[3] = 7;
    s.exited.tls_resumed = 5;
    s.exited.tls_failures[static_cast<size_t>(TlsFailure::other)] = 3;
    UpstreamStatus u;
    u.name = "app";
    u.requests = 900;
    u.retries = 3;
    u.connect_errors = 4;
    u.timeouts = 5;
    u.bad_responses = 6;
    u.queue_full = 7;
    u.open = 8;
    u.idle = 2;
    s.upstreams = {u};
    return s;
}

TEST(StatusJson, RoundTripsEveryField) {
    StatusSnapshot s = sample_status();
    Json j = status_to_json(s);
    // Through text, as on the wire.
    auto back = status_from_json(Json::parse(j.dump()));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(*back, s);
}

TEST(StatusJson, UsesTheDocumentedFieldNames) {
    Json j = status_to_json(sample_status());
    for (const char* k : {"pid", "version", "uptime_s", "generation", "config_file", "listeners",
                          "socket_activated", "reloading", "stopping", "target_workers",
                          "reloads_ok", "reloads_failed", "last_reload_error"})
        EXPECT_TRUE(j["master"].contains(k)) << k;
    for (const char* k :
         {"pid", "slot", "generation", "state", "uptime_s", "requests", "rps", "connections_active",
          "connections_total", "bytes_in", "bytes_out", "status_1xx", "status_2xx", "status_3xx",
          "status_4xx", "status_5xx", "rss_bytes", "heartbeat_age_ms"})
        EXPECT_TRUE(j["workers"][0].contains(k)) << k;
    EXPECT_TRUE(j["workers"][1]["rss_bytes"].is_null());
    EXPECT_EQ(j["totals"]["requests"].get<uint64_t>(), 2000u);
    EXPECT_EQ(j["totals"]["workers"].get<unsigned>(), 2u);
    for (const char* k : {"workers", "requests", "connections_total", "bytes_in", "bytes_out",
                          "status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx"})
        EXPECT_TRUE(j["exited"].contains(k)) << k;
    EXPECT_EQ(j["exited"]["requests"].get<uint64_t>(), 777u);
    EXPECT_EQ(j["exited"]["status_2xx"].get<uint64_t>(), 770u);
    const Json& tls = j["workers"][0]["tls"];
    EXPECT_EQ(tls["handshakes"].get<uint64_t>(), 30u);
    EXPECT_EQ(tls["resumed"].get<uint64_t>(), 9u);
    for (const char* k :
         {"version", "cipher", "not_tls", "client_alert", "timeout", "closed", "other"})
        EXPECT_TRUE(tls["failures"].contains(k)) << k;
    EXPECT_EQ(tls["failures"]["version"].get<uint64_t>(), 2u);
    EXPECT_EQ(j["totals"]["tls"]["resumed"].get<uint64_t>(), 18u);
    EXPECT_EQ(j["exited"]["tls"]["failures"]["other"].get<uint64_t>(), 3u);
    const Json& u = j["upstreams"][0];
    EXPECT_EQ(u["name"], "app");
    for (const char* k : {"requests", "retries", "connections_open", "connections_idle"})
        EXPECT_TRUE(u.contains(k)) << k;
    for (const char* k : {"connect", "timeout", "bad_response", "queue_full"})
        EXPECT_TRUE(u["errors"].contains(k)) << k;
    EXPECT_EQ(u["errors"]["timeout"].get<uint64_t>(), 5u);
}

TEST(StatusJson, StatusWithoutTlsCountersReadsAsNone) {
    // As a master from before the TLS counters answers.
    Json j = status_to_json(sample_status());
    j["workers"][0].erase("tls");
    auto back = status_from_json(j);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->workers[0].tls_handshakes, 0u);
    EXPECT_EQ(back->workers[1].tls_handshakes, 30u);
}

TEST(StatusJson, StatusWithoutUpstreamsReadsAsNone) {
    Json j = status_to_json(sample_status());
    j.erase("upstreams");
    auto back = status_from_json(j);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_TRUE(back->upstreams.empty());
}

TEST(StatusJson, StatusWithoutExitedCountsReadsAsNoneExited) {
    // As a master from before the field answers.
    Json j = status_to_json(sample_status());
    j.erase("exited");
    auto back = status_from_json(j);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->exited, ExitedTotals{});
    EXPECT_EQ(back->totals.requests, 2000u);
}

TEST(StatusJson, MalformedStatusIsAnError) {
    Json j = status_to_json(sample_status());
    j["workers"][0]["requests"] = "many";
    EXPECT_FALSE(status_from_json(j).ok());
    Json k = status_to_json(sample_status());
    k["master"].erase("generation");
    EXPECT_FALSE(status_from_json(k).ok());
    Json n = status_to_json(sample_status());
    n["totals"]["bytes_out"] = -5;
    EXPECT_FALSE(status_from_json(n).ok());
    Json e = status_to_json(sample_status());
    e["exited"]["requests"] = "lots";
    EXPECT_FALSE(status_from_json(e).ok());
    EXPECT_FALSE(status_from_json(Json::array()).ok());
}

TEST(StatusTotals, SumEveryWorker) {
    StatusSnapshot s = sample_status();
    const StatusTotals& t = s.totals;
    EXPECT_EQ(t.workers, 2u);
    EXPECT_EQ(t.requests, 2000u);
    EXPECT_DOUBLE_EQ(t.rps, 25.0);
    EXPECT_EQ(t.connections_active, 6u);
    EXPECT_EQ(t.bytes_out, 2 * 123456789012ull);
    EXPECT_EQ(t.status_class[1], 1980u);
    EXPECT_EQ(t.rss_bytes, 4096u * 1000u) << "an unknown RSS counts as nothing";
}

}  // namespace
}  // namespace minid::control
