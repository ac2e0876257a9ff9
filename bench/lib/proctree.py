#!/usr/bin/env python3
# Reads /proc for a server's process tree: its worker pids, their CPU time, RSS and established
# connections. The bench shell scripts call this between loads (never during a timed window).
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (which may contain spaces)."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()


def comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(stat_fields(entry)[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(root):
    kids = children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def workers(root):
    """Processes that serve requests: the root's children if it has any (prefork masters,
    start_server), else the root itself (single-process servers)."""
    kids = sorted(children_map().get(root, []))
    return kids if kids else [root]


def cpu_clock_seconds(pid, thread=False):
    """CPU time (user+system) of a live process or thread in nanosecond resolution, from the
    kernel's per-process CPU-time clock (what clock_getcpuclockid() returns:
    ((~pid) << 3) | CPUCLOCK_SCHED, | CPUCLOCK_PERTHREAD for a thread). /proc/PID/stat only has
    10 ms ticks, too coarse for short loads. Falls back to those ticks."""
    try:
        return time.clock_gettime(((~pid) << 3) | (6 if thread else 2))
    except OSError:
        f = stat_fields(pid if not thread else f"{pid}/task/{pid}")
        return (int(f[11]) + int(f[12])) / TICK


def reaped_children_seconds(pid):
    """cutime+cstime: time of already reaped children (old workers after a reload), which stays
    counted in their parent."""
    f = stat_fields(pid)
    # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return (int(f[13]) + int(f[14])) / TICK


def tree_cpu_seconds(root):
    total = 0.0
    for pid in tree(root):
        try:
            total += cpu_clock_seconds(pid) + reaped_children_seconds(pid)
        except OSError:
            pass  # exited while we looked
    return total


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def private_kib(pid):
    """Memory only this process holds (USS: Private_Clean + Private_Dirty): what another worker
    adds. RSS also counts every shared library page the process touched, which all processes
    mapping the library share."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def per_worker_cpu(root):
    """pid (or pid/tid for a single multi-threaded process) and CPU seconds, one per line."""
    pids = workers(root)
    rows = []
    if len(pids) == 1:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pids[0]}/task"))
        if len(tids) > 1:
            for tid in tids:
                rows.append((f"{pids[0]}/{tid}", cpu_clock_seconds(tid, thread=True)))
            return rows
    for pid in pids:
        rows.append((str(pid), cpu_clock_seconds(pid)))
    return rows


def established_inodes(port):
    """Socket inodes of ESTABLISHED TCP connections whose local port is `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local_port = int(cols[1].rsplit(":", 1)[1], 16)
                    if local_port == port and cols[3] == "01":
                        inodes.add(cols[9])
        except OSError:
            pass
    return inodes


def conns_per_worker(root, port):
    inodes = established_inodes(port)
    rows = []
    for pid in workers(root):
        count = 0
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    count += 1
        except OSError:
            continue
        rows.append((pid, count))
    return rows


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: proctree.py tree|workers|cpu|cpu-each|rss|private|conns ROOT_PID [PORT]")
    cmd, root = argv[1], int(argv[2])
    if cmd == "tree":
        print(" ".join(map(str, tree(root))))
    elif cmd == "workers":
        print(" ".join(map(str, workers(root))))
    elif cmd == "cpu":
        print(f"{tree_cpu_seconds(root):.6f}")
    elif cmd == "cpu-each":
        for name, secs in per_worker_cpu(root):
            print(f"{name} {secs:.6f}")
    elif cmd == "rss":
        # Sum over workers, then each worker: "total pid:kib pid:kib"
        rows = [(pid, rss_kib(pid)) for pid in workers(root)]
        print(sum(k for _, k in rows), " ".join(f"{p}:{k}" for p, k in rows))
    elif cmd == "private":
        # The same shape as rss: "total pid:kib pid:kib"
        rows = [(pid, private_kib(pid)) for pid in workers(root)]
        print(sum(k for _, k in rows), " ".join(f"{p}:{k}" for p, k in rows))
    elif cmd == "conns":
        for pid, count in conns_per_worker(root, int(argv[3])):
            print(pid, count)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
