#!/usr/bin/env python3
# Turns the output of wrk, hey and ab into "key value" lines for the bench's results table, and
# cross-checks wrk's machine-readable WRKSTAT line (bench/lib/wrk_report.lua) against its text.
#
#   parse_output.py wrk FILE          parse_output.py hey FILE N          parse_output.py ab FILE N
#   parse_output.py self-test
# Problems (a mismatch, missing figures, fewer responses than asked) go to stderr, prefixed
# "parse:"; the figures still print so one bad run does not hide the others.
import math
import re
import sys

UNIT_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def complain(msg):
    print(f"parse: {msg}", file=sys.stderr)


def fmt(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"


def wrk_duration_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * UNIT_US[m.group(2)] if m else None


def parse_wrk(text):
    out = {}
    stat = re.search(r"^WRKSTAT (.*)$", text, re.M)
    if not stat:
        complain("wrk: no WRKSTAT line (wrk failed before its done() hook ran)")
        err = re.search(r"^(unable to connect.*)$", text, re.M)
        if err:
            complain(f"wrk: {err.group(1)}")
        return {"failed_run": 1}
    s = {k: int(v) for k, v in (kv.split("=") for kv in stat.group(1).split())}
    seconds = s["duration_us"] / 1e6
    out["requests"] = s["requests"]
    out["rps"] = s["requests"] / seconds if seconds > 0 else float("nan")
    out["mb_s"] = s["bytes"] / 1048576 / seconds if seconds > 0 else float("nan")
    # No response at all: wrk reports 0 latencies, which would read as "very fast".
    got = s["requests"] > 0
    out["p50_ms"] = s["p50_us"] / 1e3 if got else float("nan")
    out["p99_ms"] = s["p99_us"] / 1e3 if got else float("nan")
    out["max_ms"] = s["max_us"] / 1e3 if got else float("nan")
    if not got:
        complain("wrk: no response at all during the run")
    out["non2xx"] = s["status"]
    for kind in ("connect", "read", "write", "timeout"):
        out[f"err_{kind}"] = s[kind]
    out["errors"] = s["status"] + s["connect"] + s["read"] + s["write"] + s["timeout"]

    # Cross-check with the text wrk printed. wrk prints the error lines only when non-zero.
    m = re.search(r"^\s*(\d+) requests in ", text, re.M)
    if not m or int(m.group(1)) != s["requests"]:
        complain(f"wrk: text request count {m and m.group(1)} != WRKSTAT {s['requests']}")
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if not m or abs(float(m.group(1)) - out["rps"]) > 0.001 * max(out["rps"], 1):
        complain(f"wrk: text Requests/sec {m and m.group(1)} != computed {out['rps']:.2f}")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    text_sock = tuple(int(x) for x in m.groups()) if m else (0, 0, 0, 0)
    if text_sock != (s["connect"], s["read"], s["write"], s["timeout"]):
        complain(f"wrk: text socket errors {text_sock} != WRKSTAT")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if (int(m.group(1)) if m else 0) != s["status"]:
        complain(f"wrk: text non-2xx {m and m.group(1)} != WRKSTAT {s['status']}")
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+(?:us|ms|s|m|h))$", text, re.M)
        if m and got:
            shown = wrk_duration_us(m.group(1)) / 1e3
            if abs(shown - out[key]) > 0.01 * out[key] + 0.01:
                complain(f"wrk: text p{pct} {m.group(1)} != WRKSTAT {out[key]} ms")
        elif s["requests"] > 0:
            complain(f"wrk: no p{pct} in the text (was --latency given?)")
    return out


def parse_hey(text, expected):
    out = {}
    total = re.search(r"^\s*Total:\s+([\d.]+) secs", text, re.M)
    statuses = {int(c): int(n) for c, n in re.findall(r"^\s*\[(\d+)\]\s+(\d+) responses", text, re.M)}
    # "Error distribution" lines look like status lines but end in the error text.
    err_part = text.split("Error distribution:", 1)[1] if "Error distribution:" in text else ""
    errors = sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]\s", err_part, re.M))
    ok = statuses.get(200, 0)
    seconds = float(total.group(1)) if total else float("nan")
    out["requests"] = ok
    # hey's own Requests/sec counts failed requests too: count only the 200s.
    out["rps"] = ok / seconds if seconds > 0 else float("nan")
    for pct in ("50", "99"):
        m = re.search(rf"^\s*{pct}% in ([\d.]+) secs", text, re.M)
        out[f"p{pct}_ms"] = float(m.group(1)) * 1e3 if m else float("nan")
    slowest = re.search(r"^\s*Slowest:\s+([\d.]+) secs", text, re.M)
    out["max_ms"] = float(slowest.group(1)) * 1e3 if slowest and ok else float("nan")
    average = re.search(r"^\s*Average:\s+([\d.]+) secs", text, re.M)
    out["mean_ms"] = float(average.group(1)) * 1e3 if average and ok else float("nan")
    # The mode, as the posts read it: the mark of hey's fullest histogram bucket (11 buckets
    # from the fastest to the slowest response).
    hist = text.split("Response time histogram:", 1)[1] if "Response time histogram:" in text else ""
    buckets = [(int(n), float(mark)) for mark, n in re.findall(r"^\s*([\d.]+) \[(\d+)\]", hist, re.M)]
    out["mode_ms"] = max(buckets)[1] * 1e3 if buckets and ok else float("nan")
    out["non2xx"] = sum(n for c, n in statuses.items() if not 200 <= c < 400)
    out["errors"] = out["non2xx"] + errors
    if not total:
        complain("hey: no Summary/Total line")
    if expected and ok + out["non2xx"] + errors != expected:
        complain(f"hey: {ok} ok + {out['non2xx']} non-2xx + {errors} errors != {expected} requested")
    if errors:
        first = re.search(r"^\s*\[\d+\]\s+(.*)$", err_part, re.M)
        complain(f"hey: {errors} errors, e.g. {first.group(1) if first else '?'}")
    return out


def parse_ab(text, expected):
    out = {}
    complete = re.search(r"^Complete requests:\s+(\d+)", text, re.M)
    rps = re.search(r"^Requests per second:\s+([\d.]+)", text, re.M)
    if not complete or not rps:
        err = re.search(r"(apr_\w+: [^\n]*|Total of \d+ requests completed)", text)
        complain(f"ab: run aborted ({err.group(1) if err else 'no summary'})")
        return {"failed_run": 1, "errors": expected or 1}
    failed = int(re.search(r"^Failed requests:\s+(\d+)", text, re.M).group(1))
    non2xx = re.search(r"^Non-2xx responses:\s+(\d+)", text, re.M)
    out["requests"] = int(complete.group(1))
    out["rps"] = float(rps.group(1))
    # ab's percentiles are whole milliseconds.
    for pct in ("50", "99"):
        m = re.search(rf"^\s*{pct}%\s+(\d+)", text, re.M)
        out[f"p{pct}_ms"] = float(m.group(1)) if m else float("nan")
    longest = re.search(r"^\s*100%\s+(\d+) \(longest request\)", text, re.M)
    out["max_ms"] = float(longest.group(1)) if longest else float("nan")
    out["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    out["failed"] = failed
    out["errors"] = failed + out["non2xx"]
    if expected and out["requests"] != expected:
        complain(f"ab: {out['requests']} complete requests, {expected} asked")
    return out


def emit(values):
    for key, value in values.items():
        print(key, fmt(value))


SAMPLE_WRK_OK = """Running 1s test @ http://127.0.0.1:18081/hello.txt
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   160.89us  145.02us   3.56ms   98.40%
    Req/Sec    66.67k     9.62k   82.00k    63.64%
  Latency Distribution
     50%  139.00us
     75%  168.00us
     90%  193.00us
     99%  671.00us
  72609 requests in 1.10s, 17.24MB read
Requests/sec:  66003.74
Transfer/sec:     15.67MB
WRKSTAT requests=72609 duration_us=1100074 bytes=18079641 connect=0 read=0 write=0 status=0 timeout=0 p50_us=139 p99_us=671 max_us=3559
"""

SAMPLE_WRK_ERRORS = """Running 4s test @ http://127.0.0.1:18081/hello.txt
  1 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   250.41us  220.10us  12.01ms   97.12%
    Req/Sec    70.12k     8.01k   80.33k    70.00%
  Latency Distribution
     50%  220.00us
     75%  260.00us
     90%  300.00us
     99%    1.20ms
  280480 requests in 4.00s, 66.61MB read
  Socket errors: connect 0, read 193, write 0, timeout 0
  Non-2xx or 3xx responses: 7
Requests/sec:  70120.00
Transfer/sec:     16.65MB
WRKSTAT requests=280480 duration_us=4000000 bytes=69846016 connect=0 read=193 write=0 status=7 timeout=0 p50_us=220 p99_us=1200 max_us=12010
"""

SAMPLE_HEY = """
Summary:
  Total:	0.0151 secs
  Slowest:	0.0048 secs
  Fastest:	0.0000 secs
  Average:	0.0005 secs
  Requests/sec:	33104.8941

Response time histogram:
  0.000 [1]	|
  0.001 [310]	|■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■
  0.002 [150]	|■■■■■■■■■■■■■■■■■■■
  0.005 [37]	|■■■■

Latency distribution:
  10% in 0.0001 secs
  50% in 0.0004 secs
  99% in 0.0027 secs

Status code distribution:
  [200]	498 responses

Error distribution:
  [2]	Get "http://127.0.0.1:18082/hello.txt": EOF
"""

SAMPLE_AB = """Concurrency Level:      8
Time taken for tests:   0.056 seconds
Complete requests:      1000
Failed requests:        3
   (Connect: 0, Receive: 0, Length: 3, Exceptions: 0)
Non-2xx responses:      1000
Requests per second:    17768.62 [#/sec] (mean)
Percentage of the requests served within a certain time (ms)
  50%      0
  99%      1
 100%      4 (longest request)
"""


def self_test():
    import contextlib
    import io

    passed = 0

    def check(name, got, want):
        nonlocal passed
        for key, value in want.items():
            if not math.isclose(got.get(key, float("nan")), value, rel_tol=1e-3, abs_tol=1e-6):
                raise SystemExit(f"self-test {name}: {key} = {got.get(key)}, want {value}")
        passed += 1

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        check("wrk ok", parse_wrk(SAMPLE_WRK_OK),
              {"requests": 72609, "rps": 66003.74, "p50_ms": 0.139, "p99_ms": 0.671,
               "max_ms": 3.559, "errors": 0, "err_read": 0, "non2xx": 0})
        check("wrk errors", parse_wrk(SAMPLE_WRK_ERRORS),
              {"rps": 70120.0, "p99_ms": 1.2, "err_read": 193, "non2xx": 7, "errors": 200})
        check("hey", parse_hey(SAMPLE_HEY, 500),
              {"requests": 498, "rps": 498 / 0.0151, "p50_ms": 0.4, "p99_ms": 2.7, "max_ms": 4.8,
               "mean_ms": 0.5, "mode_ms": 1.0, "errors": 2})
        check("ab", parse_ab(SAMPLE_AB, 1000),
              {"requests": 1000, "rps": 17768.62, "p99_ms": 1, "max_ms": 4, "non2xx": 1000,
               "errors": 1003})
    if err.getvalue().count("parse:") != 1 or "hey: 2 errors" not in err.getvalue():
        raise SystemExit(f"self-test: unexpected complaints:\n{err.getvalue()}")
    passed += 1

    # No response at all: latencies are unknown, not zero.
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        silent = parse_wrk(SAMPLE_WRK_OK.replace("requests=72609", "requests=0")
                           .replace("  72609 requests", "  0 requests").replace("66003.74", "0.00"))
    if not (math.isnan(silent["p99_ms"]) and "no response" in err.getvalue()):
        raise SystemExit(f"self-test: silent run read as {silent}")
    passed += 1

    # A mismatch between the text and WRKSTAT must be reported.
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        parse_wrk(SAMPLE_WRK_ERRORS.replace("read 193", "read 192"))
        parse_wrk(SAMPLE_WRK_OK.replace("  72609 requests", "  72608 requests"))
        parse_wrk(SAMPLE_WRK_OK.replace("99%  671.00us", "99%  871.00us"))
        parse_hey(SAMPLE_HEY, 600)
        parse_ab(SAMPLE_AB, 2000)
        parse_ab("apr_socket_recv: Connection refused (111)\n", 10)
    for needle in ("socket errors", "request count", "text p99", "!= 600 requested",
                   "2000 asked", "ab: run aborted (apr_socket_recv"):
        if needle not in err.getvalue():
            raise SystemExit(f"self-test: no complaint containing {needle!r}:\n{err.getvalue()}")
        passed += 1
    print(f"parse_output self-test: {passed} passed, 0 failed")


def main(argv):
    if len(argv) >= 2 and argv[1] == "self-test":
        self_test()
        return
    if len(argv) < 3 or argv[1] not in ("wrk", "hey", "ab"):
        sys.exit("usage: parse_output.py wrk|hey|ab FILE [EXPECTED_REQUESTS] | self-test")
    with open(argv[2], errors="replace") as f:
        text = f.read()
    expected = int(argv[3]) if len(argv) > 3 else 0
    if argv[1] == "wrk":
        emit(parse_wrk(text))
    elif argv[1] == "hey":
        emit(parse_hey(text, expected))
    else:
        emit(parse_ab(text, expected))


if __name__ == "__main__":
    main(sys.argv)
