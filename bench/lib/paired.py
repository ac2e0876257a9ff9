#!/usr/bin/env python3
# Paired per-round ratios from a run's results.tsv: minid's figure divided by each other server's
# in the same round (servers run back to back within a round, so a slow minute of the host hits
# both sides), as median, range and rounds won. Medians of each server alone hide that pairing.
#
#   paired.py results.tsv [--base minid] [--loads keepalive:rps,close:rps,hey:rps]
import argparse
import statistics
import sys

from report import Results, paired_ratios as ratios


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("tsv")
    ap.add_argument("--base", default="minid")
    ap.add_argument("--loads", default="keepalive:rps,close:rps,hey:rps")
    args = ap.parse_args()
    rows = Results(args.tsv)
    servers = [s for s in rows.servers if s != args.base]
    specs = [tuple(x.split(":", 1)) for x in args.loads.split(",")]
    # Only the columns some server has samples for; nothing at all is an error.
    specs = [(l, m) for l, m in specs
             if any(ratios(rows, args.base, l, m, other) for other in servers)]
    if not specs:
        print(f"no samples with {args.base} and another server in {args.tsv}", file=sys.stderr)
        return 1
    print("| " + args.base + " ÷ | " +
          " | ".join(f"{l} {m}: median (range), won" for l, m in specs) + " |")
    print("|---" * (len(specs) + 1) + "|")
    for other in servers:
        cells = []
        for load_name, metric in specs:
            r = ratios(rows, args.base, load_name, metric, other)
            if not r:
                cells.append("–")
                continue
            # CPU time and latency: lower is better, so minid wins a round below 1.
            lower_better = "cpu" in metric or metric.endswith("_ms")
            won = sum(1 for x in r if (x < 1 if lower_better else x > 1))
            cells.append(
                f"{statistics.median(r):.2f} ({min(r):.2f}–{max(r):.2f}), {won}/{len(r)}")
        if any(c != "–" for c in cells):
            print(f"| {other} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
