#!/usr/bin/env python3
# Writes the bench report from one run's logs directory (results.tsv, meta.txt, warnings.txt,
# the servers' configs): a verdict against minid's targets, the machine and method, one summary
# table and chart, a short section per load, the posts' table and its chart, and the peers'
# configs in a file of their own. bench/RESULTS.md is this report (run.sh --write-results).
#
#   report.py --logs DIR --out FILE.md [--chart PNG] [--posts-chart PNG] [--configs FILE.md]
import argparse
import glob
import math
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict

import proxy_report  # bench/lib/proxy_report.py: the Reverse proxy section

# Targets of minid at its defaults (issue 19), checked in the verdict.
KEEPALIVE_CPU_VS_BEST = 0.8  # keep-alive CPU per request <= 0.8x the best of h2o and lighttpd
# Both CPU targets sit at what a server doing nothing but the syscalls costs (micro/floor_server.c).
FLOOR_LINK = "[why](NOTES.md#the-floor-under-issue-19s-cpu-targets)"
CLOSE_CPU_VS_NGINX = 0.6     # one connection per request: CPU <= 0.6x nginx's
IDLE_RSS_MIB = 4.0           # RSS per idle worker
# TLS targets (issue 16): ratios to nginx's medians, and KiB per idle TLS connection.
TLS_KEEPALIVE_RPS_VS_NGINX = 1.3
TLS_KEEPALIVE_CPU_VS_NGINX = 0.75
TLS_FULL_CPU_VS_NGINX = 1.0
TLS_RESUMED_CPU_VS_NGINX = 0.8
TLS_BIG_MBS_VS_NGINX = 1.0
TLS_IDLE_KIB = 4.0
TLS_LOADS = ("tls-keepalive", "tls-full", "tls-full-rsa", "tls-resumed", "tls-big", "tls-idle")

# The posts' rows: label, and the posts' own "% of NGINX" (shared/POSTS-TABLE.md).
POSTS_ROWS = {
    "py-sequential": ("Python, sequential (one connection at a time)", "8.07"),
    "py-fork": ("Python, forking: `os.fork` per connection", "1.29"),
    "py-forkingserver": ("Python, forking: `socketserver.ForkingTCPServer`", "12.17"),
    "py-thread": ("Python, threading: a thread per connection", "11.71"),
    "py-threadingserver": ("Python, threading: `socketserver.ThreadingTCPServer`", "11.76"),
    "py-processpool": ("Python, process pool fed by the accepting loop", "7.22"),
    "py-threadpool": ("Python, thread pool fed by the accepting loop", "10.42"),
    "py-selectors": ("Python, non-blocking with `selectors`", "11.80"),
    "py-asyncio": ("Python, asyncio streams", "12.34"),
    "gunicorn": ("Gunicorn, sync workers", "6.89"),
    "gunicorn-gevent": ("Gunicorn, gevent workers", "50.32"),
    "waitress": ("Waitress", "66.79"),
    "nginx": ("nginx", "100.00"),
}


def number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


class Results:
    def __init__(self, path):
        self.raw = defaultdict(list)  # (load, server, metric) -> [value per sample]
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
                if rnd != "0":  # round 0: figures taken once, before the rounds
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

    def ran(self, load):
        """Servers with figures for this load, in the run's order."""
        return [s for s in self.servers if any(k[0] == load and k[1] == s for k in self.raw)]


def paired_ratios(res, base, load, metric, other):
    """base's figure over other's within each round (hey: each burst), for every sample that
    has both: a slow minute of the host hits both sides."""
    out = []
    for sample in sorted(res.by_sample):
        got = res.by_sample[sample]
        a, b = number(got.get((load, base, metric), "")), number(got.get((load, other, metric), ""))
        if a is not None and b:
            out.append(a / b)
    return out


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


WARNING_LINES = 6


def grouped_warnings(warnings, stamp):
    """The run's warnings, the same text once with its count ("r3-idle-..." and "r4-idle-..." are the
    same warning of two rounds), at most WARNING_LINES lines: warnings.txt holds them all."""
    groups = {}
    for w in warnings:
        key = re.sub(r"\br[0-9]+(\.[0-9]+)?-", "rN-", w)
        groups[key] = groups.get(key, 0) + 1
    lines = [(f"{n}×: " if n > 1 else "") + w for w, n in groups.items()]
    if len(lines) > WARNING_LINES:
        rest = len(lines) - (WARNING_LINES - 1)
        lines = lines[:WARNING_LINES - 1] + [f"… {rest} more (distinct) in `bench/out/logs-{stamp}/warnings.txt`"]
    return lines


def med_or_none(vals):
    return statistics.median(vals) if vals else None


def busiest_share(split):
    """"953604/776643" -> 55 (the largest part's % of the whole), None if unreadable."""
    parts = [number(p) for p in split.split("/")]
    if not parts or None in parts or not sum(parts):
        return None
    return 100 * max(parts) / sum(parts)


def table(header, rows):
    """Markdown table without the columns no row has a figure in (a load not run)."""
    keep = [0] + [i for i in range(1, len(header))
                  if any(row[i].replace("–", "").replace("→", "").strip() for row in rows)]
    lines = ["| " + " | ".join(header[i] for i in keep) + " |", "|" + "---|" * len(keep)]
    lines += ["| " + " | ".join(row[i] for i in keep) + " |" for row in rows]
    return "\n".join(lines)


def suite_servers(res):
    """The servers of the loads (the posts' Python and WSGI rows only where they ran a load)."""
    return minid_first([s for s in res.servers if not s.startswith(("py-", "gunicorn", "waitress"))
                        or any(res.nums(l, s, "rps") for l in ("keepalive", "close"))])


SUITE_LOADS = ("keepalive", "close", "hey", "big", "capped", "idle", "reload", "spread")


def minid_first(servers):
    """minid, then its variants, then the others in the run's order."""
    return sorted(servers, key=lambda s: (0 if s == "minid" else 1 if s.startswith("minid") else 2))


class Report:
    def __init__(self, res, meta, warnings, chart, posts_chart, configs, logs=None):
        self.r = res
        self.logs = logs
        self.m = meta
        self.warnings = warnings
        self.chart, self.posts_chart, self.configs = chart, posts_chart, configs
        self.out = []

    def add(self, text=""):
        self.out.append(text)

    def pct_of_nginx(self, load, server, metric):
        mine, ref = self.r.median(load, server, metric), self.r.median(load, "nginx", metric)
        if mine is None or not ref:
            return "–"
        return f"{100 * mine / ref:.0f}%"

    def with_pct(self, load, server, metric):
        vals = self.r.nums(load, server, metric)
        pct = self.pct_of_nginx(load, server, metric)
        return "–" if not vals else f"{spread(vals)}" + ("" if pct == "–" else f" ({pct})")

    def rss_mib(self, server):
        vals = self.r.nums("memory", server, "rss_per_worker_kib") or \
            self.r.nums("idle", server, "rss_per_worker_kib")
        return [v / 1024 for v in vals]

    def private_mib(self, server):
        return [v / 1024 for v in self.r.nums("memory", server, "private_per_worker_kib")]

    # ---- verdict -------------------------------------------------------------------------
    def verdict(self):
        r, lines = self.r, []
        med = r.median
        if self.m.get("quick") == "1":
            lines.append("**A `--quick` smoke run: short loads on a shared machine. These figures show that "
                         "the bench works, they measure nothing.**")
        ka = med("keepalive", "minid", "cpu_us_per_req")
        peers = [(med("keepalive", s, "cpu_us_per_req"), s) for s in ("h2o", "lighttpd")]
        peers = [p for p in peers if p[0]]
        if ka and peers:
            best, who = min(peers)
            ratio = ka / best
            lines.append(f"- **Keep-alive**: minid spends {ka:.2f} µs of server CPU per request, {ratio:.2f}× "
                         f"{who}'s {best:.2f} (target ≤ {KEEPALIVE_CPU_VS_BEST}×: "
                         f"{'met' if ratio <= KEEPALIVE_CPU_VS_BEST else '**missed**, ' + FLOOR_LINK}); RPS "
                         f"{short(med('keepalive', 'minid', 'rps'))} vs {short(med('keepalive', who, 'rps'))}"
                         f", {self.pct_of_nginx('keepalive', 'minid', 'rps')} of nginx's.")
        cl, cl_ng = med("close", "minid", "cpu_us_per_req"), med("close", "nginx", "cpu_us_per_req")
        if cl and cl_ng:
            ratio = cl / cl_ng
            lines.append(f"- **One connection per request**: {cl:.1f} µs per request, {ratio:.2f}× nginx's "
                         f"{cl_ng:.1f} (target ≤ {CLOSE_CPU_VS_NGINX}×: "
                         f"{'met' if ratio <= CLOSE_CPU_VS_NGINX else '**missed**, ' + FLOOR_LINK}); RPS "
                         f"{self.pct_of_nginx('close', 'minid', 'rps')} of nginx's.")
        hey, hey_ng = med("hey", "minid", "rps"), med("hey", "nginx", "rps")
        if hey and hey_ng:
            p99, p99_ng = med("hey", "minid", "p99_ms"), med("hey", "nginx", "p99_ms")
            ok = hey >= hey_ng and p99 is not None and p99_ng is not None and p99 <= p99_ng
            lines.append(f"- **`hey -n {self.m.get('hey_n', '2000')} -c {self.m.get('hey_c', '50')}`**: "
                         f"{100 * hey / hey_ng:.0f}% of nginx's RPS, p99 {short(p99)} vs {short(p99_ng)} ms "
                         f"(target ≥ 100% with p99 ≤ nginx's: {'met' if ok else '**missed**'}); "
                         f"{short(med('hey', 'minid', 'cpu_us_per_req'))} vs "
                         f"{short(med('hey', 'nginx', 'cpu_us_per_req'))} µs of CPU per request.")
        rss = self.rss_mib("minid")
        if rss:
            def mem(s):
                uss = self.private_mib(s)
                return short(statistics.median(self.rss_mib(s))) + (f"/{short(statistics.median(uss))}" if uss else "")
            others = ", ".join(f"{s} {mem(s)}" for s in r.servers
                               if s in ("nginx", "h2o", "lighttpd") and self.rss_mib(s))
            uss = self.private_mib("minid")
            lines.append(f"- **Memory**: {short(statistics.median(rss))} MiB RSS per idle worker (target ≤ "
                         f"{IDLE_RSS_MIB:.0f} MiB: {'met' if statistics.median(rss) <= IDLE_RSS_MIB else '**missed**'})"
                         + (f", {short(statistics.median(uss))} MiB of it private (what one more worker adds)"
                            if uss else "") + (f"; {'RSS/private' if uss else 'RSS'}: {others}." if others else "."))
        if r.nums("reload", "minid", "errors"):
            others = ", ".join(f"{s} {count(r.nums('reload', s, 'errors'))}" for s in r.ran("reload")
                               if s != "minid")
            lines.append(f"- **Reload under load**: {count(r.nums('reload', 'minid', 'errors'))} failed requests for "
                         f"minid over {count(r.nums('reload', 'minid', 'reloads'))} reloads"
                         + (f" ({others})." if others else "."))
        if "minid-base" in r.servers:
            parts = []
            for load, metric, label in (("keepalive", "cpu_us_per_req", "keep-alive CPU"),
                                        ("close", "cpu_us_per_req", "close CPU"), ("hey", "rps", "hey RPS"),
                                        ("keepalive", "rps", "keep-alive RPS")):
                x = paired_ratios(r, "minid", load, metric, "minid-base")
                if x:
                    parts.append(f"{label} {statistics.median(x):.2f}×")
            if parts:
                lines.append(f"- **Against minid-base** (`{self.m.get('minid_base', '?')}`), minid ÷ minid-base paired "
                             f"per round: {', '.join(parts)}.")
        if r.has("posts") and med("posts", "minid", "rps") and med("posts", "nginx", "rps"):
            py = [(med("posts", s, "cpu_us_per_req"), s) for s in r.ran("posts") if s in POSTS_ROWS and s != "nginx"]
            py = [p for p in py if p[0]]
            best = (f"; the thriftiest of the Python and WSGI rows, {min(py)[1]}, {min(py)[0]:.1f} µs and "
                    f"{self.pct_of_nginx('posts', min(py)[1], 'rps')}") if py else ""
            lines.append(f"- **The posts' table**: minid {short(med('posts', 'minid', 'cpu_us_per_req'))} µs of CPU per "
                         f"request (nginx {short(med('posts', 'nginx', 'cpu_us_per_req'))}) and "
                         f"{self.pct_of_nginx('posts', 'minid', 'rps')} of nginx's RPS{best}.")
        tls = self.tls_targets()
        if tls:
            met = sum(1 for _, ok in tls if ok)
            lines.append(f"- **TLS**: {met} of {len(tls)} targets met: "
                         + "; ".join(f"{text}: {'met' if ok else '**missed**'}" for text, ok in tls) + ".")
        proxy = proxy_report.cost_targets(self.logs) if self.logs else None
        if proxy:
            lines.append(f"- **Reverse proxy** (its own cost against a fast origin): {proxy}.")
        if self.warnings:
            lines.append(f"- {len(self.warnings)} warning(s) during the run (end of this report): treat the "
                         "figures they name as suspect.")
        self.add("## Verdict")
        if len(lines) > 10:  # at most 10 lines; the warnings' line, when there is one, stays
            lines = lines[:9] + lines[-1:] if self.warnings else lines[:10]
        self.add("\n".join(lines) if lines else "No figures for minid in this run.")
        self.add()

    def method(self):
        m = self.m
        rounds = len(self.r.rounds)
        self.add("## Machine and method")
        self.add(f"- {m.get('machine', '?')}; loopback only. Commit {m.get('commit', '?')}, "
                 f"run {m.get('date', '?')}: `{m.get('command', 'bench/run.sh')}`.")
        self.add(f"- {m.get('workers', '1')} worker per server, servers pinned to CPU {m.get('server_cpus', '?')}, "
                 f"load generators to CPU {m.get('client_cpus', '?')}, logging off, a 13-byte `hello.txt` and a "
                 f"1 MiB file; the peers tuned for static files as their docs advise: nginx with sendfile, "
                 f"tcp_nopush and `open_file_cache`, lighttpd with the inotify stat cache, h2o with its "
                 f"built-in open-file cache ([all configs]({os.path.basename(self.configs)})).")
        self.add(f"- {rounds} round(s); servers interleaved, their order reversed every other round; cells are "
                 "medians (min–max over rounds, or over every hey burst).")
        self.add("- Ranking figure: **server CPU µs per request**, user+system time of all the server's "
                 "processes over the load divided by its requests. RPS sits beside it: on 2 vCPUs the "
                 "client's core limits keep-alive RPS.")
        sizes = m.get("sizes", {})
        self.add("- Loads: " + "; ".join(f"{load} `{sizes[load]}`" for load in sizes if self.r.has(load)) + ".")
        self.add()

    # ---- summary ---------------------------------------------------------------------------
    def summary(self):
        r = self.r
        servers = suite_servers(r)
        self.add("## Summary\n")
        rows = []
        for s in servers:
            reload_fail = count(r.nums("reload", s, "errors"))
            rows.append([s, spread(r.nums("keepalive", s, "cpu_us_per_req")),
                         self.with_pct("keepalive", s, "rps"), short(r.median("keepalive", s, "p99_ms")),
                         spread(r.nums("close", s, "cpu_us_per_req")), self.with_pct("close", s, "rps"),
                         self.with_pct("hey", s, "rps"), short(r.median("hey", s, "p99_ms")),
                         self.with_pct("big", s, "mb_s"), self.with_pct("capped", s, "rps"),
                         spread(self.rss_mib(s)), spread(self.private_mib(s)), reload_fail])
        self.add(table(["server", "keep-alive CPU µs/req", "keep-alive RPS (% nginx)", "keep-alive p99 ms",
                        "close CPU µs/req", "close RPS (% nginx)", "hey RPS (% nginx)", "hey p99 ms",
                        "1 MiB MB/s (% nginx)", "at half a CPU RPS (% nginx)", "RSS per worker MiB",
                        "private per worker MiB", "reload: failed requests"], rows))
        self.add()
        if self.chart:
            self.add(f"![summary chart]({os.path.basename(self.chart)})\n")
        self.paired()

    def paired(self):
        self.paired_table([("keepalive", "cpu_us_per_req", "keep-alive CPU"), ("close", "cpu_us_per_req", "close CPU"),
                           ("keepalive", "rps", "keep-alive RPS"), ("close", "rps", "close RPS"),
                           ("hey", "rps", "hey RPS"), ("hey", "p99_ms", "hey p99"),
                           ("capped", "rps", "RPS at half a CPU")])

    def paired_table(self, specs, intro=None):
        """minid ÷ each other server per round, for each (load, metric, label) of specs."""
        r = self.r
        others = [s for s in minid_first(r.servers) if s != "minid"]
        specs = [sp for sp in specs if any(paired_ratios(r, "minid", sp[0], sp[1], o) for o in others)]
        if not specs or len(r.rounds) < 2:
            return
        self.add((intro or "minid ÷ each server within the same round (hey: the same burst): median (range), "
                  "rounds minid won; CPU, memory and p99: below 1 is better.") + "\n")
        rows = []
        # Servers measured by none of these loads (the posts' rows) get no line of dashes.
        others = [o for o in others if any(paired_ratios(r, "minid", sp[0], sp[1], o) for sp in specs)]
        for o in others:
            cells = []
            for load, metric, _ in specs:
                x = paired_ratios(r, "minid", load, metric, o)
                lower_better = "cpu" in metric or metric.endswith("_ms") or "kib" in metric
                won = sum(1 for v in x if (v < 1 if lower_better else v > 1))
                cells.append(f"{statistics.median(x):.2f} ({min(x):.2f}–{max(x):.2f}), {won}/{len(x)}" if x else "–")
            rows.append([f"÷ {o}"] + cells)
        self.add(table(["minid"] + [label for _, _, label in specs], rows))
        self.add()

    # ---- one section per load ------------------------------------------------------------
    def latency_load(self, load, title, what, metric="rps", unit="RPS", cpu="cpu_us_per_req",
                     cpu_label="CPU µs/req", extra=None):
        r = self.r
        servers = minid_first(r.ran(load))
        if not servers:
            return
        self.add(f"### {title}\n{what}\n")
        rows = []
        for s in servers:
            row = [s, spread(r.nums(load, s, cpu)), spread(r.nums(load, s, metric)),
                   self.pct_of_nginx(load, s, metric), spread(r.nums(load, s, "p50_ms")),
                   spread(r.nums(load, s, "p99_ms")), short(r.median(load, s, "max_ms")),
                   count(r.nums(load, s, "errors"))]
            if extra:
                row.append(count(r.nums(load, s, extra[0])))
            rows.append(row)
        self.add(table([("server"), cpu_label, unit, "% of nginx", "p50 ms", "p99 ms", "max ms", "errors"]
                       + ([extra[1]] if extra else []), rows))
        self.add()

    def idle(self):
        r = self.r
        servers = minid_first(r.ran("idle"))
        if not servers:
            return
        self.add("### Idle keep-alive connections")
        self.add(f"{self.m.get('idle_conns', '?')} connections each send one request and stay open; the workers' RSS "
                 "and a `wrk -c10` probe on other connections, before → with them.\n")
        rows = []
        for s in servers:
            rows.append([s, count(r.nums("idle", s, "conns_held_server")), spread(r.nums("idle", s, "kib_per_conn")),
                         f"{short(r.median('idle', s, 'rss_before_kib'))} → {short(r.median('idle', s, 'rss_after_kib'))}",
                         spread(r.nums("idle", s, "cpu_us_per_conn")),
                         f"{short(r.median('idle', s, 'probe_before_p99_ms'))} → {short(r.median('idle', s, 'probe_p99_ms'))}",
                         count(r.nums("idle", s, "probe_errors")) +
                         (" **(no answer)**" if any(v == 0 for v in r.nums("idle", s, "probe_requests")) else "")])
        self.add(table(["server", "held (server side)", "KiB per conn", "worker RSS KiB", "CPU µs per conn set up",
                        "probe p99 ms", "probe errors"], rows))
        self.add()

    def reload(self):
        r = self.r
        servers = minid_first(r.ran("reload"))
        if not servers:
            return
        self.add("### Reload under load")
        self.add("Graceful reloads while `wrk` runs (minid and h2o SIGHUP, `nginx -s reload`, lighttpd SIGUSR1); "
                 "every failed request counts.\n")
        rows = []
        for s in servers:
            rows.append([s, count(r.nums("reload", s, "reloads")), count(r.nums("reload", s, "new_worker_pids")),
                         count(r.nums("reload", s, "errors")), spread(r.nums("reload", s, "rps")),
                         spread(r.nums("reload", s, "p99_ms")), short(r.median("reload", s, "max_ms")),
                         spread(r.nums("reload", s, "cpu_us_per_req")),
                         "yes" if all(v == 1 for v in r.nums("reload", s, "serving_after")) else "**NO**"])
        self.add(table(["server", "reloads", "new worker pids", "failed requests", "RPS", "p99 ms", "max ms",
                        "CPU µs/req", "serving after"], rows))
        self.add()

    def spread_load(self):
        r = self.r
        servers = minid_first(r.ran("spread"))
        if not servers:
            return
        self.add("### Two workers")
        self.add(f"A second instance with 2 workers (h2o: threads) on CPUs {self.m.get('spread_cpus', '?')}, keep-alive "
                 "`wrk`: the busiest worker's share of the connections, requests (minid reports them) and CPU.\n")
        rows = []
        for s in servers:
            rows.append([s, count(r.nums("spread", s, "conn_max_share_pct")),
                         count([busiest_share(t) for t in r.texts("spread", s, "requests_split") if busiest_share(t)]),
                         count(r.nums("spread", s, "cpu_max_share_pct")), spread(r.nums("spread", s, "rps")),
                         spread(r.nums("spread", s, "cpu_us_per_req")), count(r.nums("spread", s, "errors"))])
        self.add(table(["server", "busiest: connections %", "busiest: requests %", "busiest: CPU %", "RPS",
                        "CPU µs/req", "errors"], rows))
        self.add()

    def loads(self):
        m = self.m
        self.add("## Each load")
        self.latency_load("keepalive", "Keep-alive", f"`wrk -t1 -c{m.get('wrk_c', '50')}` on hello.txt, requests back "
                          "to back on each connection.")
        self.latency_load("close", "One connection per request",
                          f"`{m.get('close_tool', 'ab')}` on hello.txt, a new TCP connection per request"
                          + (" (ab's latencies are whole milliseconds)." if m.get("close_tool", "ab") == "ab" else "."))
        self.latency_load("hey", "hey bursts", "`hey` on hello.txt, several bursts per round; RPS counts 200 "
                          "responses only; hey's own core is the limit.")
        self.latency_load("big", "1 MiB file", "`wrk` on the 1 MiB file over keep-alive connections.",
                          metric="mb_s", unit="MB/s", cpu="cpu_us_per_mb", cpu_label="CPU µs/MiB")
        self.idle()
        self.reload()
        self.spread_load()
        quota = number(m.get("capped_quota_us", "")) or 50000
        self.latency_load("capped", "Keep-alive at a CPU quota",
                          f"A fresh instance in a cgroup with {quota / 100000:.2g} CPU: the server, not the client, "
                          "sets the rate (throttled: periods in which it used up its quota).",
                          extra=("throttled_pct", "throttled %"))

    # ---- TLS -------------------------------------------------------------------------------
    def tls_idle_fresh(self):
        """Runs before commit 4c28001 measured idle TLS connections on the instance that serves every
        round: from round 2 on the new connections reused the heap round 1's had freed (0.1 KiB).
        Those runs have no "tls_idle_fresh" line in meta.txt; only their round 1 counts."""
        return self.m.get("tls_idle_fresh") == "1"

    def tls_idle_nums(self, server, metric):
        if self.tls_idle_fresh():
            return self.r.nums("tls-idle", server, metric)
        v = number(self.r.by_sample.get("1", {}).get(("tls-idle", server, metric), ""))
        return [] if v is None else [v]

    def tls_targets(self):
        """(text, met) per TLS target with figures for minid and nginx."""
        med, out = self.r.median, []

        def ratio(load, metric, limit, label, higher):
            mine, ref = med(load, "minid", metric), med(load, "nginx", metric)
            if mine is None or not ref:
                return
            x = mine / ref
            out.append((f"{label} {x:.2f}× nginx's ({'≥' if higher else '≤'} {limit}×)",
                        x >= limit if higher else x <= limit))

        ratio("tls-keepalive", "rps", TLS_KEEPALIVE_RPS_VS_NGINX, "keep-alive RPS", True)
        ratio("tls-keepalive", "cpu_us_per_req", TLS_KEEPALIVE_CPU_VS_NGINX, "keep-alive CPU/req", False)
        ratio("tls-full", "cpu_us_per_hs", TLS_FULL_CPU_VS_NGINX, "full handshake CPU (ECDSA)", False)
        ratio("tls-full-rsa", "cpu_us_per_hs", TLS_FULL_CPU_VS_NGINX, "full handshake CPU (RSA)", False)
        ratio("tls-resumed", "cpu_us_per_hs", TLS_RESUMED_CPU_VS_NGINX, "resumed handshake CPU", False)
        ratio("tls-big", "mb_s", TLS_BIG_MBS_VS_NGINX, "1 MiB MB/s", True)
        idle = self.tls_idle_nums("minid", "kib_per_conn")
        if idle:
            idle = statistics.median(idle)
            out.append((f"idle TLS connection {idle:.1f} KiB{'' if self.tls_idle_fresh() else ' in round 1'} "
                        f"(≤ {TLS_IDLE_KIB:.0f} KiB)", idle <= TLS_IDLE_KIB))
        return out

    def tls(self):
        r, m = self.r, self.m
        if not any(r.has(l) for l in TLS_LOADS):
            return
        self.add("## TLS")
        self.add("A second listener on every server: TLS 1.2 and 1.3, one self-signed ECDSA P-256 certificate "
                 "(RSA-2048 for the RSA load), Mozilla intermediate suites, session tickets on; the targets are in "
                 "the verdict.")
        self.paired_table([("tls-keepalive", "cpu_us_per_req", "keep-alive CPU"),
                           ("tls-keepalive", "rps", "keep-alive RPS"), ("tls-full", "cpu_us_per_hs", "full hs CPU"),
                           ("tls-full-rsa", "cpu_us_per_hs", "RSA full hs CPU"),
                           ("tls-resumed", "cpu_us_per_hs", "resumed hs CPU"), ("tls-big", "mb_s", "1 MiB MB/s")]
                          + ([("tls-idle", "kib_per_conn", "idle KiB/conn")] if self.tls_idle_fresh() else []),
                          intro="minid ÷ each server within the same round, as above:")
        wrk_loads = [l for l in ("tls-keepalive", "tls-big") if r.ran(l)]
        if wrk_loads:
            self.add("### TLS keep-alive and the 1 MiB file over TLS")
            self.add(f"`wrk -t1 -c{m.get('wrk_c', '50')}` on hello.txt and `wrk -c8` on the 1 MiB file, over https "
                     "(a full handshake per connection, at its start); errors of both.\n")
            rows, header = [], ["server"]
            if "tls-keepalive" in wrk_loads:
                header += ["keep-alive CPU µs/req", "RPS (% nginx)", "p99 ms"]
            if "tls-big" in wrk_loads:
                header += ["1 MiB CPU µs/MiB", "MB/s (% nginx)", "p99 ms"]
            for s in minid_first(sorted({s for l in wrk_loads for s in r.ran(l)}, key=r.servers.index)):
                row = [s]
                for load, cpu, metric in (("tls-keepalive", "cpu_us_per_req", "rps"), ("tls-big", "cpu_us_per_mb", "mb_s")):
                    if load in wrk_loads:
                        row += [spread(r.nums(load, s, cpu)), self.with_pct(load, s, metric),
                                spread(r.nums(load, s, "p99_ms"))]
                errors = [r.nums(l, s, "errors") for l in wrk_loads]
                row.append(count([sum(x) for x in zip(*errors)]) if all(errors) else "–")
                rows.append(row)
            self.add(table(header + ["errors"], rows))
            self.add()
        hs_loads = [(l, label) for l, label in (("tls-full", "full ECDSA"), ("tls-full-rsa", "full RSA"),
                                                ("tls-resumed", "resumed")) if r.ran(l)]
        if hs_loads:
            self.add("### Handshakes")
            self.add("`openssl s_time`, one connection at a time, one GET each: `-new` (full handshakes; RSA on a "
                     "fresh instance), `-reuse` (session tickets); handshakes/s is one client's rate.\n")
            rows = []
            for s in minid_first(sorted({s for l, _ in hs_loads for s in r.ran(l)}, key=r.servers.index)):
                row = [s]
                for load, _ in hs_loads:
                    row += [self.with_pct(load, s, "cpu_us_per_hs"), spread(r.nums(load, s, "rps"))]
                row.append(short(r.median("tls-resumed", s, "resumed_pct")))
                rows.append(row)
            header = ["server"]
            for _, label in hs_loads:
                header += [f"{label}: CPU µs/hs (% nginx)", "hs/s"]
            self.add(table(header + ["resumed %"], rows))
            self.add()
        servers = minid_first(r.ran("tls-idle"))
        if servers:
            self.add("### Idle TLS connections")
            self.add(f"{m.get('tls_idle_conns', '?')} TLS connections each finish a full handshake, send one request "
                     "and stay open, on a fresh instance; RSS and private memory (USS) per connection held."
                     + ("" if self.tls_idle_fresh() else " **Round 1 only**: this run predates the fresh instance "
                        "(commit 4c28001), and its later rounds reused the heap round 1's connections freed.") + "\n")
            n = self.tls_idle_nums
            rows = [[s, count(n(s, "conns_held_server")), spread(n(s, "kib_per_conn")),
                     spread(n(s, "private_kib_per_conn")),
                     f"{short(med_or_none(n(s, 'rss_before_kib')))} → {short(med_or_none(n(s, 'rss_after_kib')))}",
                     spread(n(s, "cpu_us_per_conn")),
                     f"{short(med_or_none(n(s, 'probe_before_p99_ms')))} → {short(med_or_none(n(s, 'probe_p99_ms')))}"]
                    for s in servers]
            self.add(table(["server", "held (server side)", "KiB per conn (RSS)", "KiB per conn (private)",
                            "RSS KiB", "CPU µs per conn set up", "probe p99 ms"], rows))
            self.add()

    # ---- the posts' table ----------------------------------------------------------------
    def posts(self):
        r = self.r
        rows_of = r.ran("posts")
        if not rows_of:
            return
        ours = [s for s in rows_of if s not in POSTS_ROWS or s == "nginx"]
        ours = minid_first(ours)
        theirs = sorted((s for s in rows_of if s not in ours), key=lambda s: -(r.median("posts", s, "rps") or 0))
        self.add("## The posts' table")
        self.add(f"`hey -n {self.m.get('hey_n', '2000')} -c {self.m.get('hey_c', '50')}` on the 13-byte file, as "
                 "the posts measured it; medians over every burst, latencies in ms. Python designs: `bench/posts/`; "
                 "the last column is the posts' own figure (1 CPU, over a network). hey's core limits the faster "
                 "rows: server CPU per request ranks the designs.\n")
        rows = []
        for s in ours + theirs:
            label, theirs_pct = POSTS_ROWS.get(s, (s, "–"))
            rows.append([label if s in POSTS_ROWS else s, spread(r.nums("posts", s, "rps")),
                         self.pct_of_nginx("posts", s, "rps"), short(r.median("posts", s, "mean_ms")),
                         short(r.median("posts", s, "mode_ms")), short(r.median("posts", s, "max_ms")),
                         short(r.median("posts", s, "cpu_us_per_req")), count(r.nums("posts", s, "errors")),
                         theirs_pct + ("%" if theirs_pct != "–" else "")])
        self.add(table(["server (design)", "RPS", "% of nginx", "mean ms", "mode ms", "worst ms",
                        "server CPU µs/req", "errors", "the posts' % of NGINX"], rows))
        self.add()
        if self.posts_chart:
            self.add(f"![posts' table chart]({os.path.basename(self.posts_chart)})\n")

    def render(self):
        m = self.m
        self.add(f"# minid against nginx, h2o and lighttpd\n")
        self.add(f"Written by `bench/run.sh` ({'`--quick` smoke run, ' if m.get('quick') == '1' else ''}"
                 f"{m.get('date', '?')}, commit {m.get('commit', '?')}); the next run replaces it. Design "
                 "investigations and their measurements are in [NOTES.md](NOTES.md); how to run and read the "
                 "bench in [README.md](README.md).\n")
        self.verdict()
        self.method()
        if any(self.r.has(l) for l in SUITE_LOADS):
            self.summary()
            self.loads()
        self.tls()
        self.posts()
        if self.proxy_md:  # bench/proxy.sh's section (run.sh --proxy), rendered by proxy_report.py
            self.add(self.proxy_md.strip("\n") + "\n")
        self.add("## Versions and warnings")
        self.add("Versions: " + "; ".join(f"{', '.join(servers)}: {version}"
                                          for version, servers in m["versions"].items()) + ".\n")
        self.add("\n".join(f"- {w}" for w in grouped_warnings(self.warnings, m.get("date", "DATE")))
                 or "No warnings.")
        return re.sub(r"\n{3,}", "\n\n", "\n".join(self.out)) + "\n"


# ---- charts (gnuplot) ------------------------------------------------------------------------
SUMMARY_PANELS = [
    ("keepalive", "cpu_us_per_req", "keep-alive: server CPU µs per request (lower is better)"),
    ("close", "cpu_us_per_req", "one connection per request: server CPU µs per request (lower is better)"),
    ("keepalive", "rps", "keep-alive RPS (wrk)"),
    ("close", "rps", "one connection per request RPS"),
    ("hey", "rps", "hey RPS"),
    ("hey", "p99_ms", "hey p99 ms (lower is better)"),
    ("capped", "rps", "keep-alive RPS at half a CPU"),
    ("memory", "rss_per_worker_kib", "RSS per worker KiB (lower is better)"),
]


def gnuplot(script):
    try:
        result = subprocess.run(["gnuplot"], input="\n".join(script), text=True, capture_output=True)
    except FileNotFoundError:
        print("report: no gnuplot (apt-get install gnuplot-nox): no chart", file=sys.stderr)
        return
    if result.returncode != 0:
        print(f"report: gnuplot failed: {result.stderr.strip()}", file=sys.stderr)


def color(server):
    return 1 if server == "minid" else 3 if server.startswith("minid") else 2


def summary_chart(res, meta, png, data_dir):
    servers = suite_servers(res)
    panels = [(l, m, t) for l, m, t in SUMMARY_PANELS if any(res.nums(l, s, m) for s in servers)]
    if not panels:
        return
    plots = []
    for n, (load, metric, title) in enumerate(panels):
        path = os.path.join(data_dir, f"chart-{n}.dat")
        with open(path, "w") as f:
            for i, s in enumerate(servers):
                vals = res.nums(load, s, metric)
                if vals:
                    f.write(f"{i} {s} {statistics.median(vals)} {min(vals)} {max(vals)} {color(s)}\n")
        plots.append((path, title))
    cols = 4 if len(plots) > 6 else 3 if len(plots) > 4 else 2
    rows = math.ceil(len(plots) / cols)
    script = [
        f"set terminal pngcairo size {cols * 480},{rows * 380} font 'sans,9'",
        f"set output '{png}'",
        "set style fill solid 0.7 border -1", "set boxwidth 0.6", "set yrange [0:*]",
        f"set xrange [-0.6:{len(servers) - 0.4}]", "set offsets 0, 0, graph 0.12, 0", "unset key",
        "set grid ytics", "set xtics rotate by -30",
        "set linetype 1 lc rgb '#d95f02'", "set linetype 2 lc rgb '#1b9e77'", "set linetype 3 lc rgb '#fdb863'",
        f"set multiplot layout {rows},{cols} title \"minid bench {meta.get('date', '')}, commit {meta.get('commit', '')}"
        f"{' (QUICK smoke run)' if meta.get('quick') == '1' else ''}: medians, bars = min–max\"",
    ]
    for path, title in plots:
        script.append(f"set title \"{title}\"")
        script.append(f"plot '{path}' using 1:3:6:xtic(2) with boxes lc variable, "
                      f"'' using 1:3:4:5 with yerrorbars lc rgb 'black' pt -1, "
                      f"'' using 1:5:(sprintf($3 >= 100 ? '%.0f' : '%.3g', $3)) with labels offset 0,0.8")
    script.append("unset multiplot")
    gnuplot(script)


def posts_chart(res, meta, png, data_dir):
    ref = res.median("posts", "nginx", "rps")
    servers = res.ran("posts")
    if not ref or not servers:
        return
    ours = minid_first([s for s in servers if s not in POSTS_ROWS or s == "nginx"])
    theirs = sorted((s for s in servers if s not in ours), key=lambda s: -(res.median("posts", s, "rps") or 0))
    path = os.path.join(data_dir, "chart-posts.dat")
    with open(path, "w") as f:
        for s in ours + theirs:
            mine = res.median("posts", s, "rps")
            posts_pct = POSTS_ROWS.get(s, ("", "NaN"))[1]
            f.write(f"\"{s}\" {100 * mine / ref if mine else 'NaN'} {posts_pct}\n")
    gnuplot([
        "set terminal pngcairo size 1100,480 font 'sans,9'", f"set output '{png}'",
        f"set title \"The posts' table: RPS as % of nginx's, hey -n {meta.get('hey_n', '2000')} -c "
        f"{meta.get('hey_c', '50')} (log scale){' - QUICK smoke run' if meta.get('quick') == '1' else ''}\"",
        "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
        "set logscale y", "set yrange [0.5:*]", "set grid ytics", "set xtics rotate by -35", "set key top right",
        f"plot '{path}' using 2:xtic(1) title 'this machine' lc rgb '#d95f02', "
        f"'' using 3 title \"the posts' own (1 CPU, over a network)\" lc rgb '#7570b3'",
    ])


def write_configs(logs, path, meta):
    """The servers' config files and command lines of the run, in one markdown file."""
    commands = {}
    if os.path.exists(os.path.join(logs, "commands.tsv")):
        with open(os.path.join(logs, "commands.tsv")) as f:
            for line in f:
                key, _, cmd = line.rstrip("\n").partition("\t")
                commands.setdefault(key, cmd)
    out = [f"# The servers' configurations in the bench run of {meta.get('date', '?')}\n",
           "Written by `bench/run.sh` with the report; paths are the run's temp dir.\n"]
    for key in minid_first(list(commands)):
        out.append(f"## {key}\n\n`{commands[key]}`\n")
        for conf in sorted(glob.glob(os.path.join(logs, f"config-{key}.*"))):
            with open(conf) as f:
                out.append("```\n" + f.read().rstrip("\n") + "\n```\n")
    with open(path, "w") as f:
        f.write("\n".join(out))


def read_meta(path):
    meta = {"versions": {}}  # version text -> servers
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            if key == "version":
                server, _, version = value.partition(" ")
                if server not in meta["versions"].setdefault(version, []):
                    meta["versions"][version].append(server)
            elif key == "size":
                load, _, text = value.partition(" ")
                meta.setdefault("sizes", {})[load] = text
            else:
                meta[key] = value
    sizes = meta.get("sizes", {})
    meta["idle_conns"] = sizes.get("idle", "?").split()[0]
    keepalive = sizes.get("keepalive", "").split()
    meta["wrk_c"] = next((w[2:] for w in keepalive if w.startswith("-c")), "50")
    hey = (sizes.get("hey") or sizes.get("posts") or "hey -n 2000 -c 50,").replace(",", "").split()
    meta["hey_n"], meta["hey_c"] = hey[hey.index("-n") + 1], hey[hey.index("-c") + 1]
    return meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logs", required=True, help="the run's logs directory")
    ap.add_argument("--out", required=True, help="the report (markdown)")
    ap.add_argument("--chart", help="summary chart (png), linked from the report")
    ap.add_argument("--posts-chart", help="the posts' table chart (png)")
    ap.add_argument("--configs", help="markdown file with the servers' configs, linked from the report")
    args = ap.parse_args()
    meta = read_meta(os.path.join(args.logs, "meta.txt"))
    warnings_path = os.path.join(args.logs, "warnings.txt")
    warnings = []
    if os.path.exists(warnings_path):
        with open(warnings_path) as f:
            warnings = [w.strip() for w in f if w.strip()]
    res = Results(os.path.join(args.logs, "results.tsv"))
    configs = args.configs or os.path.join(os.path.dirname(args.out), "configs.md")
    write_configs(args.logs, configs, meta)
    chart = args.chart if args.chart and any(res.has(l) for l in SUITE_LOADS) else None
    pchart = args.posts_chart if args.posts_chart and res.has("posts") else None
    report = Report(res, meta, warnings, chart, pchart, configs, args.logs)
    report.proxy_md = proxy_report.render(args.logs)
    text = report.render()
    if text.count("\n") > 250:  # the report is meant to be read, not searched
        print(f"report: {args.out} has {text.count(chr(10))} lines, more than 250", file=sys.stderr)
    with open(args.out, "w") as f:
        f.write(text)
    if chart:
        summary_chart(res, meta, chart, args.logs)
    if pchart:
        posts_chart(res, meta, pchart, args.logs)


if __name__ == "__main__":
    main()
