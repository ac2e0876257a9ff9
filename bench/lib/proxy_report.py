#!/usr/bin/env python3
"""The proxy loads' section of the report (bench/proxy.sh): proxy-results.tsv rows of the loads
proxy-posts, proxy-slow and proxy-cost -> markdown, medians over rounds with (min-max).

usage: proxy_report.py LOG_DIR
"""
import math
import os
import statistics
import sys
from collections import defaultdict


def load(path):
    res = defaultdict(list)  # (load, key, metric) -> values
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5 or not parts[1].startswith("proxy-"):
                continue
            try:
                value = float(parts[4])
            except ValueError:
                continue
            if not math.isnan(value):
                res[(parts[1], parts[2], parts[3])].append(value)
    return res


def cell(vals, digits=0):
    if not vals:
        return "–"
    fmt = f"{{:.{digits}f}}"
    med = fmt.format(statistics.median(vals))
    lo, hi = fmt.format(min(vals)), fmt.format(max(vals))
    return med if lo == hi else f"{med} ({lo}–{hi})"


def med(vals):
    return statistics.median(vals) if vals else float("nan")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def main():
    logs = sys.argv[1]
    res = load(os.path.join(logs, "proxy-results.tsv"))
    meta = {}
    meta_path = os.path.join(logs, "proxy-meta.txt")
    if os.path.exists(meta_path):
        for line in open(meta_path):
            k, _, v = line.rstrip("\n").partition(" ")
            meta[k] = v
    g = lambda load, key, metric: res.get((load, key, metric), [])  # noqa: E731
    out = ["## Reverse proxy\n"]
    if meta:
        out.append(f"`{meta.get('proxy_command', '')}`: {meta.get('proxy_sizes', '')}. "
                   f"{meta.get('proxy_versions', '')}. Medians over rounds (min–max).\n")

    if any(k[0] == "proxy-posts" for k in res):
        out.append("### The posts' measurement: `hey -n 2000 -c 50` on a hello-world WSGI app\n")
        out.append("RPS counts 200 responses only. WAN: through bench/lib/wanrelay.py adding "
                   "100 ms of round trip (the posts' ~450 RPS behind nginx is 50 connections ÷ "
                   "~0.107 s). Front CPU: the proxy's CPU time per request (loopback).\n")
        rows = []
        for kind in ("gunicorn-sync", "gunicorn-gevent", "waitress"):
            for front in ("direct", "nginx", "minid"):
                k = lambda net: f"{kind}/{front}/{net}"  # noqa: E731
                if not any(g("proxy-posts", k(n), "rps") for n in ("loopback", "wan")):
                    continue
                rows.append([kind, front,
                             cell(g("proxy-posts", k("loopback"), "rps")),
                             cell(g("proxy-posts", k("loopback"), "p99_ms"), 1),
                             cell(g("proxy-posts", k("loopback"), "errors")),
                             cell(g("proxy-posts", k("loopback"), "front_cpu_us_per_req"), 1),
                             cell(g("proxy-posts", k("wan"), "rps")),
                             cell(g("proxy-posts", k("wan"), "p99_ms")),
                             cell(g("proxy-posts", k("wan"), "errors"))])
        out.append(table(["app", "in front", "loopback RPS", "p99 ms", "errors",
                          "front CPU µs/req", "WAN RPS", "WAN p99 ms", "WAN errors"], rows))

    if any(k[0] == "proxy-slow" for k in res):
        out.append("\n### Slow clients against a 1-worker Gunicorn sync app\n")
        out.append("100 slow-header, 100 slow-upload (1 MiB at 16 KiB/s) or 30 slow-reading "
                   "(8 MiB at ~160 KiB/s) clients; the probe `hey -z -c 10 -t 5` on /hello "
                   "meanwhile: 200 responses, p99, errors (timeouts included).\n")
        rows = []
        for kind in ("headers", "uploads", "readers"):
            row = [f"slow {kind}"]
            for front in ("none", "nginx", "minid"):
                key = f"{kind}/{front}"
                ok = g("proxy-slow", key, "requests")
                row.append(f"{cell(ok)} OK, p99 {cell(g('proxy-slow', key, 'p99_ms'), 1)} ms, "
                           f"{cell(g('proxy-slow', key, 'errors'))} errors" if ok else "–")
            rows.append(row)
        out.append(table(["load", "nothing in front", "nginx (defaults)", "minid"], rows))

    if any(k[0] == "proxy-cost" for k in res):
        out.append("\n### The proxy's own cost against a fast origin\n")
        out.append("`wrk -t1 -c50` through the proxy (its own core) to nginx serving 13 bytes "
                   "(pinned with the client); both proxies keep 32 idle upstream connections.\n")
        rows = []
        for front in ("nginx", "minid"):
            rows.append([front, cell(g("proxy-cost", front, "rps")),
                         cell(g("proxy-cost", front, "p99_ms"), 2),
                         cell(g("proxy-cost", front, "errors")),
                         cell(g("proxy-cost", front, "cpu_us_per_req"), 1)])
        out.append(table(["proxy", "RPS", "p99 ms", "errors", "proxy CPU µs/req"], rows))
        rps_ratio = med(g("proxy-cost", "minid", "rps")) / med(g("proxy-cost", "nginx", "rps"))
        cpu_ratio = (med(g("proxy-cost", "minid", "cpu_us_per_req")) /
                     med(g("proxy-cost", "nginx", "cpu_us_per_req")))
        out.append(f"\nminid ÷ nginx: RPS {rps_ratio:.2f}× (target ≥ 1.2), CPU per request "
                   f"{cpu_ratio:.2f}× (target ≤ 0.75).\n")

    print("\n".join(out))


if __name__ == "__main__":
    main()
