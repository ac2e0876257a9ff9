#!/usr/bin/env python3
# Per-worker request and connection counts of a running minid, for the bench's spread load:
# from `minidctl status --json` output (a file, or "-" for stdin), or, when minidctl is not
# there, straight from the control socket (one JSON line each way, protocol version 1).
#
#   minid_status.py --json FILE|-        minid_status.py --socket PATH
# prints "requests_split A/B" and "conns_split A/B" (largest first), serving workers only.
import json
import socket
import sys


def query(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(b'{"v":1,"cmd":"status"}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data)
    if not reply.get("ok", False):
        sys.exit(f"minid_status: {reply.get('error', 'status failed')}")
    return reply


def main(argv):
    if len(argv) != 3 or argv[1] not in ("--json", "--socket"):
        sys.exit("usage: minid_status.py --json FILE|- | --socket PATH")
    if argv[1] == "--socket":
        status = query(argv[2])
    else:
        status = json.load(sys.stdin if argv[2] == "-" else open(argv[2]))
    workers = [w for w in status.get("workers", []) if w.get("state", "serving") != "draining"]
    for key, out in (("requests", "requests_split"), ("connections_total", "conns_split")):
        counts = sorted((int(w.get(key, 0)) for w in workers), reverse=True)
        print(out, "/".join(map(str, counts)) or "-")


if __name__ == "__main__":
    main(sys.argv)
