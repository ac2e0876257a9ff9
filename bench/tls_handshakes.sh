#!/usr/bin/env bash
# TLS loads, minid against nginx, one worker each, the same ECDSA P-256 certificate, TLS 1.2+1.3,
# session tickets on (minid's from its master, nginx's ssl_session_tickets): server CPU per new
# connection with a full handshake (openssl s_time -new) and resumed from a ticket (-reuse), one
# small request each, and per request over TLS keep-alive (wrk over https). Server CPU is the
# worker's utime+stime from /proc. A short companion to bench/run.sh, not part of its report.
#
#   bench/tls_handshakes.sh [MINID_BINARY] [ROUNDS] [SECONDS]   (defaults: build/minid 3 4)
#
# Everything runs under nice -n 19 ionice -c3 (a shared machine); servers are stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
minid_bin=$(realpath "${1:-build/minid}")
rounds=${2:-3}
secs=${3:-4}
for t in openssl nginx wrk; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 2; }; done
[ -x "$minid_bin" ] || { echo "no minid binary at $minid_bin" >&2; exit 2; }

tmp=$(mktemp -d /tmp/minid-tls-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
low() { nice -n 19 ionice -c3 "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cd "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem \
	-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1
mkdir www && printf 'Hello, world!' >www/hello.txt
mport=$(free_port) mtls=$(free_port) nport=$(free_port)
cat >minid.conf <<CONF
[server]
listen = 127.0.0.1:$mport
listen_tls = 127.0.0.1:$mtls
workers = 1
control_socket = off
access_log = off
log_level = warn
[http]
root = $tmp/www
tls_certificate = $tmp/cert.pem
tls_key = $tmp/key.pem
CONF
cat >nginx.conf <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  open_file_cache max=100;
  server {
    listen 127.0.0.1:$nport ssl;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    root $tmp/www;
  }
}
CONF
# Not through low(): a function in the background is a subshell, and $! would be its pid.
nice -n 19 ionice -c3 "$minid_bin" -c minid.conf >minid.log 2>&1 &
pids+=($!)
low nginx -c "$tmp/nginx.conf" -p "$tmp/"
sleep 1.5
pids+=("$(cat nginx.pid)")
mworker=$(pgrep -P "${pids[0]}" | head -n1)
nworker=$(pgrep -P "${pids[1]}" | head -n1)

ticks() { local s; s=($(sed 's/^.*) //' "/proc/$1/stat")); echo $((s[11] + s[12])); }
hz=$(getconf CLK_TCK)
# measure WORKER_PID UNITS_CMD...: prints "units cpu_us_per_unit"; the command prints the units.
measure() {
	local w=$1 c0 c1 n
	shift
	c0=$(ticks "$w")
	n=$("$@")
	c1=$(ticks "$w")
	awk -v n="$n" -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%d %.0f\n", n, n ? t * 1e6 / hz / n : 0 }'
}
s_time() { low openssl s_time -connect "127.0.0.1:$1" "$2" -time "$secs" -www /hello.txt 2>/dev/null |
	sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' | tail -n1; }
keepalive() { low wrk -t1 -c16 -d"${secs}s" "https://localhost:$1/hello.txt" 2>/dev/null |
	awk '/requests in/ { print $1 }'; }

printf '%-6s %-5s %-28s %10s %12s\n' round server load count "server µs/unit"
for r in $(seq "$rounds"); do
	for s in minid nginx; do
		if [ $s = minid ]; then port=$mtls w=$mworker; else port=$nport w=$nworker; fi
		read -r n us < <(measure "$w" s_time "$port" -new)
		printf '%-6s %-5s %-28s %10s %12s\n' "$r" $s "new connection, full" "$n" "$us"
		read -r n us < <(measure "$w" s_time "$port" -reuse)
		printf '%-6s %-5s %-28s %10s %12s\n' "$r" $s "new connection, resumed" "$n" "$us"
		read -r n us < <(measure "$w" keepalive "$port")
		printf '%-6s %-5s %-28s %10s %12s\n' "$r" $s "keep-alive request (wrk -c16)" "$n" "$us"
	done
done
