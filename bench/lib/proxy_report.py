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

# minid's targets as a reverse proxy (issue 18), against nginx's medians.
COST_RPS_VS_NGINX = 1.2
COST_CPU_VS_NGINX = 0.75


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


def read_meta(logs):
    meta = {}
    path = os.path.join(logs, "proxy-meta.txt")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition(" ")
                meta[k] = v
    return meta


def cost_targets(logs):
    """"RPS 1.43× nginx's (target ≥ 1.2): met, ..." from the proxy-cost load, or None without it."""
    path = os.path.join(logs, "proxy-results.tsv")
    if not os.path.exists(path):
        return None
    res = load(path)
    g = lambda key, metric: res.get(("proxy-cost", key, metric), [])  # noqa: E731
    if not (g("minid", "rps") and g("nginx", "rps")):
        return None
    rps = med(g("minid", "rps")) / med(g("nginx", "rps"))
    cpu = med(g("minid", "cpu_us_per_req")) / med(g("nginx", "cpu_us_per_req"))
    verdict = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    return (f"RPS {rps:.2f}× nginx's (target ≥ {COST_RPS_VS_NGINX}: {verdict(rps >= COST_RPS_VS_NGINX)}), "
            f"CPU per request {cpu:.2f}× (≤ {COST_CPU_VS_NGINX}: {verdict(cpu <= COST_CPU_VS_NGINX)})")


def render(logs):
    """The section's markdown, empty when the run had no proxy loads."""
    path = os.path.join(logs, "proxy-results.tsv")
    if not os.path.exists(path):
        return ""
    res = load(path)
    meta = read_meta(logs)
    g = lambda load, key, metric: res.get((load, key, metric), [])  # noqa: E731
    out = ["## Reverse proxy"]
    if meta:
        out.append(f"`{meta.get('proxy_command', '')}`: {meta.get('proxy_sizes', '')}. "
                   f"{meta.get('proxy_versions', '')}. Medians over rounds (min–max).\n")

    if any(k[0] == "proxy-posts" for k in res):
        out.append("### The posts' measurement: `hey -n 2000 -c 50` on a hello-world WSGI app")
        out.append("RPS counts 200 responses only. WAN: through bench/lib/wanrelay.py, 100 ms of round trip "
                   "(the posts' ~450 RPS behind nginx: 50 connections ÷ ~0.107 s). Front CPU: the proxy's, "
                   "per request (loopback).\n")
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
        out.append("### Slow clients against a 1-worker Gunicorn sync app")
        out.append("100 slow-header, 100 slow-upload (1 MiB at 16 KiB/s) or 30 slow-reading (8 MiB at ~160 "
                   "KiB/s) clients; meanwhile the probe `hey -z -c 10 -t 5` on /hello: 200 responses, p99, "
                   "errors (timeouts included).\n")
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
        out.append("### The proxy's own cost against a fast origin")
        out.append("`wrk -t1 -c50` through the proxy (its own core) to nginx serving 13 bytes (pinned with the "
                   "client); both proxies keep 32 idle upstream connections.\n")
        rows = []
        for front in ("nginx", "minid"):
            rows.append([front, cell(g("proxy-cost", front, "rps")),
                         cell(g("proxy-cost", front, "p99_ms"), 2),
                         cell(g("proxy-cost", front, "errors")),
                         cell(g("proxy-cost", front, "cpu_us_per_req"), 1)])
        out.append(table(["proxy", "RPS", "p99 ms", "errors", "proxy CPU µs/req"], rows))
        targets = cost_targets(logs)
        if targets:
            out.append(f"minid ÷ nginx: {targets}.\n")

    return "\n".join(out)


def main():
    print(render(sys.argv[1]))


if __name__ == "__main__":
    main()
