#!/usr/bin/env python3
# Where a process's resident memory is: /proc/PID/smaps summed per backing file (each shared
# library, the binary) and per anonymous kind (heap, stack, anon), for one or more processes.
#
#   rss_by_mapping.py PID [PID...]          a table in KiB: Rss, Private (USS) and Pss per group
#   rss_by_mapping.py --libs PID            only the file-backed groups' names (for ldd diffs)
#
# Rss counts every page the process touched, shared or not (what `ps` shows and what issue
# tables compare); Private is what one more such process adds; Pss splits shared pages.
import os
import re
import sys

HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$")


def group_name(path):
    if not path:
        return "[anon]"
    if path.startswith("["):
        return path  # [heap], [stack], [vdso], [vvar]
    if path.startswith("/memfd:") or path.startswith("/dev/zero"):
        return "[memfd/shm]"
    name = os.path.basename(path.replace(" (deleted)", ""))
    # libfoo.so.1.2.3 -> libfoo.so
    return re.sub(r"\.so[.\d]*$", ".so", name)


def by_group(pid):
    groups = {}
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = HEADER.match(line)
            if m:
                current = groups.setdefault(group_name(m.group(1).strip()),
                                            {"Rss": 0, "Private": 0, "Pss": 0})
                continue
            key, _, rest = line.partition(":")
            if current is None or not rest:
                continue
            if key == "Rss":
                current["Rss"] += int(rest.split()[0])
            elif key == "Pss":
                current["Pss"] += int(rest.split()[0])
            elif key in ("Private_Clean", "Private_Dirty"):
                current["Private"] += int(rest.split()[0])
    return groups


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: rss_by_mapping.py [--libs] PID [PID...]")
    if argv[1] == "--libs":
        print("\n".join(sorted(g for g in by_group(int(argv[2])) if not g.startswith("["))))
        return
    for pid in map(int, argv[1:]):
        groups = by_group(pid)
        total = {k: sum(g[k] for g in groups.values()) for k in ("Rss", "Private", "Pss")}
        print(f"pid {pid}: Rss {total['Rss']} KiB, Private {total['Private']} KiB, "
              f"Pss {total['Pss']} KiB")
        print(f"  {'mapping':<28} {'Rss':>6} {'Private':>8} {'Pss':>6}")
        for name, g in sorted(groups.items(), key=lambda kv: -kv[1]["Rss"]):
            if g["Rss"] == 0:
                continue
            print(f"  {name:<28} {g['Rss']:>6} {g['Private']:>8} {g['Pss']:>6}")


if __name__ == "__main__":
    main(sys.argv)
