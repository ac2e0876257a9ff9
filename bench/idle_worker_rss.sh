#!/bin/sh
# RSS of an idle minid worker at the default configuration, per mapping (bench/lib/rss_by_mapping.py):
# starts MINID (default build/minid) on a loopback port with the built-in defaults (only listen,
# root and the control socket set), waits until its workers are ready, optionally sends
# REQUESTS keep-alive-less requests (default 0: idle after start), then prints each worker's
# VmRSS and the per-library table of the first one, and stops the server.
#
#   bench/idle_worker_rss.sh [MINID] [REQUESTS]        env: PORT (default 18931)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
minid=${1:-$here/../build/minid}
requests=${2:-0}
port=${PORT:-18931}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/minid-rss.XXXXXX")
cat >"$tmp/minid.conf" <<EOF
[server]
listen = 127.0.0.1:$port
control_socket = $tmp/control.sock
[http]
root = $here/../site
EOF

"$minid" -c "$tmp/minid.conf" >"$tmp/log" 2>&1 &
master=$!
trap 'kill "$master" 2>/dev/null; wait "$master" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

# Ready: the master logs it once every worker said so; bounded to 10 s.
i=0
until grep -q "is serving" "$tmp/log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$tmp/log" >&2; echo "minid did not get ready" >&2; exit 1; }
	sleep 0.1
done
n=0
while [ $n -lt "$requests" ]; do
	curl -s -o /dev/null "http://127.0.0.1:$port/" || true
	n=$((n + 1))
done
sleep 1
workers=$(python3 "$here/lib/proctree.py" workers "$master")
for w in $workers; do
	printf 'worker %s: VmRSS %s\n' "$w" "$(awk '/^VmRSS/ {print $2, $3}' "/proc/$w/status")"
done
python3 "$here/lib/rss_by_mapping.py" $(echo "$workers" | cut -d' ' -f1)
