#!/usr/bin/env bash
# Slow-client attacks against minid on loopback, with a normal client measured at the same time.
# For each slowhttptest mode (slow headers -H, slow body -B, slow read -X) it starts a fresh
# minid, runs the attack with CONNECTIONS connections, and meanwhile a curl loop (a new connection
# per request) and wrk -c4 (kept connections) fetch a small file. It prints how many attack
# connections minid held, and the normal client's successes, errors and latency percentiles.
# Not part of the regular suite (about 3 x DURATION seconds).
#
# Usage: tests/hostile/slowloris.sh [-b BUILD_DIR] [-w WORKERS] [-c CONNECTIONS] [-d DURATION]
#        [-m "H B X"]     (defaults: build, 2, 3000, 40, all three modes)
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build workers=2 conns=3000 duration=40 modes="H B X"
while getopts "b:w:c:d:m:" opt; do
  case $opt in
    b) build=$OPTARG ;;
    w) workers=$OPTARG ;;
    c) conns=$OPTARG ;;
    d) duration=$OPTARG ;;
    m) modes=$OPTARG ;;
    *) sed -n '2,11p' "$0" >&2; exit 2 ;;
  esac
done
minid=$build/minid
[ -x "$minid" ] || { echo "no $minid: build first (cmake --build $build)" >&2; exit 2; }
for tool in slowhttptest curl wrk ss python3; do
  command -v $tool >/dev/null || { echo "needs $tool (apt-get install slowhttptest curl wrk iproute2)" >&2; exit 2; }
done

# Thousands of sockets on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/minid-slowloris-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www"
echo "small page for the measured client" >"$work/www/index.html"
head -c $((8 << 20)) /dev/zero | tr '\0' 'x' >"$work/www/big.bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

start_minid() {
  cat >"$work/minid.conf" <<EOF
[server]
listen = 127.0.0.1:$port
workers = $workers
control_socket = off
access_log = off
log_level = notice
[http]
root = $work/www
EOF
  "$minid" -c "$work/minid.conf" >>"$work/minid-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.05
  done
  echo "minid did not start; log:" >&2; cat "$work/minid-$1.log" >&2; exit 1
}

stop_minid() {
  kill -TERM "$pid"; wait "$pid" || true; pid=
}

# p50/p99/max in ms of the "code seconds" lines curl wrote, and the count of non-200 answers.
summarize_curl() {
  python3 - "$1" <<'EOF'
import sys
ok, bad, t = 0, 0, []
for line in open(sys.argv[1]):
    code, secs = line.split()
    if code == "200":
        ok += 1
        t.append(float(secs) * 1000)
    else:
        bad += 1
t.sort()
pct = lambda p: t[min(len(t) - 1, int(p * len(t)))] if t else float("nan")
print(f"{ok} ok, {bad} failed; latency p50 {pct(0.50):.1f} ms, p99 {pct(0.99):.1f} ms, max {max(t) if t else float('nan'):.1f} ms")
EOF
}

attack_args() {
  local url="http://127.0.0.1:$port/"
  case $1 in
    H) echo "-H -c $conns -r 1000 -i 5 -x 24 -u $url" ;;
    B) echo "-B -c $conns -r 1000 -i 5 -s 1048576 -x 10 -u $url" ;;
    X) echo "-X -c $conns -r 1000 -k 8 -n 5 -w 1 -y 64 -z 16 -u ${url}big.bin" ;;
  esac
}

printf '%-5s %-24s %s\n' mode "attack conns held" "normal client"
for mode in $modes; do
  start_minid "$mode"
  wpids=$(ps -o pid= --ppid "$pid" | tr -s ' \n' ' ')
  cpu0=$(for w in $wpids; do awk '{print $14+$15}' "/proc/$w/stat"; done | paste -sd+ | bc)
  # slowhttptest opens its connections once; minid's timeouts close them (that is the point),
  # so the attack is restarted until the measurement is over to keep the pressure on.
  attack_end=$((SECONDS + duration))
  (
    while ((SECONDS < attack_end - 3)); do
      # shellcheck disable=SC2046
      slowhttptest $(attack_args "$mode") -l $((attack_end - SECONDS)) -p 3 >>"$work/attack-$mode.txt" 2>&1 || true
    done
  ) &
  attack=$!
  sleep 5  # let the attack ramp up before measuring
  # First half: a curl loop (new connection per request); second half: wrk -c4 (kept ones).
  half=$(((duration - 8) / 2))
  : >"$work/curl-$mode.txt"
  held=0
  end=$((SECONDS + half))
  (
    while ((SECONDS < end)); do
      curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}\n' \
        "http://127.0.0.1:$port/index.html" >>"$work/curl-$mode.txt" || echo "000 5" >>"$work/curl-$mode.txt"
      sleep 0.02
    done
    wrk -t1 -c4 -d${half}s --latency "http://127.0.0.1:$port/index.html" >"$work/wrk-$mode.txt" 2>&1
  ) &
  loop=$!
  while kill -0 $loop 2>/dev/null; do
    n=$(ss -Htn state established "( sport = :$port )" | wc -l)
    ((n > held)) && held=$n
    sleep 1
  done
  wait $attack || true
  cpu1=$(for w in $wpids; do awk '{print $14+$15}' "/proc/$w/stat" 2>/dev/null || echo 0; done | paste -sd+ | bc)
  stop_minid
  wrk_p99=$(awk '/^ +99%/ {print $2}' "$work/wrk-$mode.txt")
  wrk_req=$(awk '/requests in/ {print $1}' "$work/wrk-$mode.txt")
  wrk_err=$(grep -E 'Non-2xx|Socket errors' "$work/wrk-$mode.txt" | tr -s ' ' | paste -sd';' || true)
  printf '%-5s %-24s curl (new connection each): %s\n' "-$mode" "$held" "$(summarize_curl "$work/curl-$mode.txt")"
  printf '%-5s %-24s wrk -c4: %s requests, p99 %s %s; worker CPU %s s\n' "" "" "$wrk_req" "$wrk_p99" \
    "${wrk_err:+($wrk_err)}" "$(echo "scale=2; ($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc)"
  grep -E 'service available|exit status|Test ended' "$work/attack-$mode.txt" | tail -2 | sed 's/^/      slowhttptest: /'
done
