#!/usr/bin/env python3
# Turns the bench's results table (round, load, server, metric, value) into the markdown report
# (medians with min–max over the rounds, "% of nginx") and draws the summary chart with gnuplot.
import argparse
import math
import os
import statistics
import subprocess
import sys
from collections import defaultdict


def number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


class Results:
    def __init__(self, path):
        self.raw = defaultdict(list)  # (load, server, metric) -> [value per round]
        # sample ("ROUND" or "ROUND.BURST") -> (load, server, metric) -> value, for pairing
        self.by_sample = defaultdict(dict)
        self.servers = []
        self.rounds = set()
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 5:
                    continue
                rnd, load, server, metric, value = parts
                self.raw[(load, server, metric)].append(value)
                self.by_sample[rnd][(load, server, metric)] = value
                self.rounds.add(rnd.split(".")[0])  # "2.3": the 3rd hey burst of round 2
                if server not in self.servers:
                    self.servers.append(server)

    def nums(self, load, server, metric):
        return [v for v in map(number, self.raw.get((load, server, metric), [])) if v is not None]

    def texts(self, load, server, metric):
        return self.raw.get((load, server, metric), [])

    def median(self, load, server, metric):
        vals = self.nums(load, server, metric)
        return statistics.median(vals) if vals else None

    def has(self, load):
        return any(k[0] == load for k in self.raw)


def short(value, digits=3):
    """97123 -> 97.1k; 1321.4 -> 1321; 0.456 -> 0.456."""
    if value is None:
        return "–"
    if abs(value) >= 100000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 10000:
        return f"{value / 1000:.1f}k"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits - 1}f}"


def spread(vals, digits=3):
    """median (min–max) of a list, or the one value."""
    if not vals:
        return "–"
    med = statistics.median(vals)
    if len(vals) == 1 or min(vals) == max(vals):
        return short(med, digits)
    return f"{short(med, digits)} ({short(min(vals), digits)}–{short(max(vals), digits)})"


def count(vals):
    """Error counts: median, and the range when they differ."""
    if not vals:
        return "–"
    med = statistics.median(vals)
    text = f"{med:.0f}"
    if len(vals) > 1 and min(vals) != max(vals):
        text += f" ({min(vals):.0f}–{max(vals):.0f})"
    return text


def table(header, rows, drop_empty=False):
    """Markdown table; drop_empty leaves out columns with no figure in any row (loads not run)."""
    if drop_empty and rows:
        keep = [0] + [i for i in range(1, len(header))
                      if any(row[i].replace("–", "").replace(";", "").strip() for row in rows)]
        header = [header[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    def __init__(self, res, meta, warnings):
        self.r = res
        self.meta = meta
        self.warnings = warnings
        self.out = []

    def pct_of_nginx(self, load, server, metric):
        mine, ref = self.r.median(load, server, metric), self.r.median(load, "nginx", metric)
        if mine is None or not ref:
            return "–"
        return f"{100 * mine / ref:.0f}%"

    def add(self, text=""):
        self.out.append(text)

    def latency_load(self, load, title, what, metric="rps", unit="RPS", cpu="cpu_us_per_req",
                     cpu_label="server CPU µs/req"):
        if not self.r.has(load):
            return
        self.add(f"## {title}\n\n{what}\n")
        rows = []
        for s in self.r.servers:
            if not self.r.nums(load, s, metric) and not self.r.texts(load, s, "failed_run"):
                continue
            rows.append([s, spread(self.r.nums(load, s, metric)), self.pct_of_nginx(load, s, metric),
                         spread(self.r.nums(load, s, "p50_ms")), spread(self.r.nums(load, s, "p99_ms")),
                         spread(self.r.nums(load, s, "max_ms")), count(self.r.nums(load, s, "errors")),
                         spread(self.r.nums(load, s, cpu))])
        self.add(table(["server", unit, "% of nginx", "p50 ms", "p99 ms", "max ms", "errors", cpu_label],
                       rows))
        self.add()

    def summary(self):
        r = self.r
        self.add("## Summary\n")
        self.add("Medians over the rounds, (min–max) when there was more than one round.\n")
        rows = []
        for s in r.servers:
            hey = f"{spread(r.nums('hey', s, 'rps'))}; {short(r.median('hey', s, 'p99_ms'))}"
            rss_mib = [v / 1024 for v in r.nums("idle", s, "rss_per_worker_kib")]
            reload_fail = count(r.nums("reload", s, "errors")) if r.nums("reload", s, "errors") else "–"
            rows.append([s, spread(r.nums("keepalive", s, "rps")), self.pct_of_nginx("keepalive", s, "rps"),
                         spread(r.nums("capped", s, "rps")), self.pct_of_nginx("capped", s, "rps"),
                         hey, spread(r.nums("close", s, "rps")), spread(r.nums("big", s, "mb_s")),
                         spread(rss_mib), spread(r.nums("keepalive", s, "cpu_us_per_req")), reload_fail])
        self.add(table(["server", "keep-alive RPS", "% of nginx", "keep-alive RPS, server at a CPU quota",
                        "at the quota: % of nginx", "hey RPS; p99 ms",
                        "one conn per request RPS", "1 MiB MB/s", "RSS per worker process MiB",
                        "CPU µs/req keep-alive", "reload: failed requests"], rows, drop_empty=True))
        self.add()

    def idle(self):
        r = self.r
        if not r.has("idle"):
            return
        self.add("## 5. Idle keep-alive connections\n")
        self.add(f"{self.meta.get('idle_conns', '?')} connections each send one request and stay open. "
                 "RSS is the sum of VmRSS over the worker processes, before and with the connections "
                 "held. The probe (`wrk -c10`, other connections) ran before and while they were held.\n")
        rows = []
        for s in r.servers:
            if not r.texts("idle", s, "conns_ok"):
                continue
            probe_rps = spread(r.nums("idle", s, "probe_rps"))
            unanswered = sum(1 for v in r.nums("idle", s, "probe_requests") if v == 0)
            if unanswered:
                probe_rps += f" **no response in {unanswered} round(s)**"
            rows.append([s, count(r.nums("idle", s, "conns_ok")), count(r.nums("idle", s, "conns_failed")),
                         count(r.nums("idle", s, "conns_held_server")),
                         count(r.nums("idle", s, "conns_alive_end")),
                         spread(r.nums("idle", s, "rss_before_kib")), spread(r.nums("idle", s, "rss_after_kib")),
                         spread(r.nums("idle", s, "kib_per_conn")),
                         f"{short(r.median('idle', s, 'probe_before_p99_ms'))} → "
                         f"{short(r.median('idle', s, 'probe_p99_ms'))}",
                         probe_rps, count(r.nums("idle", s, "probe_errors"))])
        self.add(table(["server", "set up", "failed", "held (server side)", "alive at end",
                        "worker RSS before KiB", "with conns KiB", "KiB per conn",
                        "probe p99 ms before → during", "probe RPS during", "probe errors"], rows))
        self.add()

    def reload(self):
        r = self.r
        if not r.has("reload"):
            return
        self.add("## 6. Reload under load\n")
        self.add("Graceful reloads while `wrk` runs (minid: SIGHUP to the master; nginx: `nginx -s reload`; "
                 "h2o: SIGHUP to its master-mode start_server; lighttpd: SIGUSR1 graceful restart). "
                 "Every failed request counts; minid's target is 0. \"New worker pids seen\" samples the "
                 "worker processes after each reload (lighttpd restarts inside the same process: 0).\n")
        rows = []
        for s in r.servers:
            if not r.texts("reload", s, "reloads"):
                continue
            rows.append([s, count(r.nums("reload", s, "reloads")), count(r.nums("reload", s, "new_worker_pids")),
                         count(r.nums("reload", s, "errors")),
                         count(r.nums("reload", s, "non2xx")), count(r.nums("reload", s, "err_connect")),
                         count(r.nums("reload", s, "err_read")), count(r.nums("reload", s, "err_write")),
                         count(r.nums("reload", s, "err_timeout")), spread(r.nums("reload", s, "rps")),
                         spread(r.nums("reload", s, "p99_ms")), spread(r.nums("reload", s, "max_ms")),
                         "yes" if all(v == 1 for v in r.nums("reload", s, "serving_after")) else "**NO**"])
        self.add(table(["server", "reloads", "new worker pids seen", "failed requests", "non-2xx", "connect err", "read err",
                        "write err", "timeouts", "RPS", "p99 ms", "max ms", "serving after"], rows))
        self.add()

    def spread_load(self):
        r = self.r
        if not r.has("spread"):
            return
        self.add("## 7. Connection spread over 2 workers\n")
        self.add(f"A separate instance with 2 workers (h2o: 2 threads), pinned to CPUs "
                 f"{self.meta.get('spread_cpus', '?')}, under keep-alive `wrk -c{self.meta.get('wrk_c', '50')}`. "
                 "Connections per worker were sampled mid-run (largest first, one entry per round); "
                 "CPU share is each worker's part of the server CPU time during the run.\n")
        rows = []
        for s in r.servers:
            if not r.texts("spread", s, "cpu_split_pct"):
                continue
            rows.append([s, ", ".join(r.texts("spread", s, "conn_split")) or "–",
                         ", ".join(r.texts("spread", s, "conns_split")) or "–",
                         ", ".join(r.texts("spread", s, "requests_split")) or "–",
                         ", ".join(r.texts("spread", s, "cpu_split_pct")),
                         count(r.nums("spread", s, "cpu_max_share_pct")), spread(r.nums("spread", s, "rps")),
                         count(r.nums("spread", s, "errors"))])
        self.add(table(["server", "connections per worker", "accepted per worker (minid status)",
                        "requests per worker (minid status)",
                        "CPU % per worker", "busiest worker CPU %", "RPS", "errors"], rows))
        self.add()

    def cpu_table(self):
        r = self.r
        if not any(r.has(load) for load in ("hey", "keepalive", "close", "big")):
            return
        self.add("## Server CPU time per request\n")
        self.add("User+system CPU time of all server processes over the load (the kernel's per-process "
                 "CPU clocks, ns resolution; plus /proc/PID/stat cutime+cstime of reaped children), "
                 "divided by the requests served: the steadiest figure on a noisy machine.\n")
        rows = []
        for s in r.servers:
            rows.append([s, spread(r.nums("hey", s, "cpu_us_per_req")),
                         spread(r.nums("keepalive", s, "cpu_us_per_req")),
                         spread(r.nums("close", s, "cpu_us_per_req")),
                         spread(r.nums("big", s, "cpu_us_per_mb"))])
        self.add(table(["server", "hey µs/req", "keep-alive µs/req", "one conn per request µs/req",
                        "1 MiB µs/MiB"], rows, drop_empty=True))
        self.add()

    def render(self):
        m = self.meta
        quick = m.get("quick") == "1"
        self.add(f"# minid bench {m.get('date', '')}{' — QUICK SMOKE RUN (noisy, not a measurement)' if quick else ''}\n")
        self.add(f"{len(self.r.rounds)} round(s), {m.get('workers', '?')} worker(s) per server, servers pinned "
                 f"to CPU {m.get('server_cpus', '?')}, load generators to CPU {m.get('client_cpus', '?')}. "
                 f"Loads: {m.get('sizes', '?')}.\n")
        self.summary()
        self.latency_load("hey", "1. hey burst", "`hey` on hello.txt (13 bytes). Client-bound: every C "
                          "server lands in the same range. RPS counts 200 responses only.")
        self.latency_load("keepalive", "2. Keep-alive", "`wrk -t1 --latency` on hello.txt, each connection "
                          "sending requests back to back. errors = non-2xx + socket errors.")
        self.latency_load("close", "3. One connection per request",
                          f"`{m.get('close_tool', 'ab')}` on hello.txt, a new TCP connection for every "
                          "request (ab's latencies are whole milliseconds).")
        self.latency_load("big", "4. 1 MiB file", "`wrk` on 1m.bin over keep-alive connections. "
                          "MB/s = response bytes / 2^20 / s.", metric="mb_s", unit="MB/s",
                          cpu="cpu_us_per_mb", cpu_label="server CPU µs/MiB")
        self.idle()
        self.reload()
        self.spread_load()
        quota = number(m.get("capped_quota_us", "")) or 50000
        cpus = f"{quota / 100000:.2g}"
        self.latency_load("capped", "8. Keep-alive with the server at a CPU quota",
                          f"A fresh instance of each server in a cgroup of its own, with a CPU quota of "
                          f"{cpus} CPU ({quota:.0f} µs per 100 ms period), under `wrk -t1 -c{m.get('wrk_c', '50')}` "
                          "on the other core. Here the server, not the client, sets the rate: RPS is what "
                          f"the server does with {cpus} CPU-second per second. \"Throttled\" is the share of "
                          "the periods in which the server used up its quota (100%: it was the limit "
                          "throughout). minid turns its busy polling off under a quota of less than one "
                          "CPU per worker.", cpu="throttled_pct", cpu_label="throttled %")
        self.cpu_table()
        self.add("## Warnings\n")
        self.add("\n".join(f"- {w}" for w in self.warnings) if self.warnings else "none")
        self.add("\n## Setup\n")
        self.add("```")
        derived = ("versions", "wrk_c", "idle_conns")  # parsed out of "sizes" for the text above
        self.add("\n".join(f"{k}: {v}" for k, v in m.items() if k not in derived))
        self.add("\n".join(m.get("versions", [])))
        self.add("```")
        return "\n".join(self.out) + "\n"


CHART_PANELS = [
    ("keepalive", "rps", "keep-alive RPS (wrk)"),
    ("capped", "rps", "keep-alive RPS, server at a CPU quota (wrk)"),
    ("hey", "rps", "hey RPS"),
    ("close", "rps", "one connection per request RPS"),
    ("big", "mb_s", "1 MiB file MB/s"),
    ("keepalive", "cpu_us_per_req", "server CPU µs per request (keep-alive, lower is better)"),
    ("reload", "errors", "failed requests during reloads (lower is better)"),
]


def chart(res, meta, png, data_dir):
    panels = [(l, m, t) for l, m, t in CHART_PANELS if any(res.nums(l, s, m) for s in res.servers)]
    if not panels:
        return
    plots = []
    for n, (load, metric, title) in enumerate(panels):
        path = os.path.join(data_dir, f"chart-{n}.dat")
        with open(path, "w") as f:
            for i, s in enumerate(res.servers):
                vals = res.nums(load, s, metric)
                if vals:
                    color = 1 if s == "minid" else 2
                    f.write(f"{i} {s} {statistics.median(vals)} {min(vals)} {max(vals)} {color}\n")
        plots.append((path, title))
    cols = 3 if len(plots) > 4 else 2
    rows = math.ceil(len(plots) / cols)
    script = [
        f"set terminal pngcairo size {cols * 520},{rows * 400} font 'sans,10'",
        f"set output '{png}'",
        "set style fill solid 0.7 border -1",
        "set boxwidth 0.6",
        "set yrange [0:*]",
        f"set xrange [-0.6:{len(res.servers) - 0.4}]",
        "set offsets 0, 0, graph 0.12, 0",
        "unset key",
        "set grid ytics",
        "set linetype 1 lc rgb '#d95f02'",
        "set linetype 2 lc rgb '#1b9e77'",
        f"set multiplot layout {rows},{cols} title \"minid bench {meta.get('date', '')}"
        f"{' (QUICK smoke run)' if meta.get('quick') == '1' else ''}: medians, bars = min–max over "
        f"{len(res.rounds)} round(s), {meta.get('workers', '1')} worker(s)\"",
    ]
    for path, title in plots:
        script.append(f"set title \"{title}\"")
        script.append(f"plot '{path}' using 1:3:6:xtic(2) with boxes lc variable, "
                      f"'' using 1:3:4:5 with yerrorbars lc rgb 'black' pt -1, "
                      f"'' using 1:5:(sprintf($3 >= 100 ? '%.0f' : '%.3g', $3)) with labels offset 0,0.8")
    script.append("unset multiplot")
    result = subprocess.run(["gnuplot"], input="\n".join(script), text=True, capture_output=True)
    if result.returncode != 0:
        print(f"report: gnuplot failed: {result.stderr.strip()}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--warnings")
    ap.add_argument("--chart")
    ap.add_argument("--chart-dir", default=".")
    args = ap.parse_args()
    meta = {"versions": []}
    with open(args.meta) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            if key == "version":
                meta["versions"].append(value)
            else:
                meta[key] = value
    for part in meta.get("sizes", "").split("|"):
        words = part.split()
        if words and words[0] == "idle":
            meta["idle_conns"] = words[1]
        if "wrk" in words and "-c" in words and words[0] == "wrk":
            meta["wrk_c"] = words[words.index("-c") + 1]
    warnings = []
    if args.warnings and os.path.exists(args.warnings):
        with open(args.warnings) as f:
            warnings = [w.strip() for w in f if w.strip()]
    res = Results(args.results)
    sys.stdout.write(Report(res, meta, warnings).render())
    if args.chart:
        chart(res, meta, args.chart, args.chart_dir)


if __name__ == "__main__":
    main()
