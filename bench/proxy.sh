#!/usr/bin/env bash
# Reverse-proxy loads: minid against nginx in front of Python apps (tests/apps/app.py under
# Debian's gunicorn and waitress) and in front of a fast origin. Prints figures, is not a test.
# See bench/README.md ("Proxy loads"). run.sh --proxy runs this inside its own run and report.
#
#   bench/proxy.sh [--quick] [--rounds N] [--loads posts,slow,cost] [--minid PATH]
#                  [--log-dir DIR] [--no-install] [--server-cpus L] [--client-cpus L]
#
# Loads (each server pinned to --server-cpus, clients to --client-cpus; fronts alternate order
# every other round; the report takes medians over rounds):
#   posts  the posts' measurement: hey -n 2000 -c 50 on /hello of the hello-world app under
#          Gunicorn sync (1 worker), Gunicorn gevent and Waitress; direct, behind nginx
#          (keepalive 32 in its upstream block) and behind minid (keepalive = 32); on loopback and
#          through bench/lib/wanrelay.py adding WAN_RTT_MS (100) of round trip
#   slow   100 slow-header, 100 slow-upload or 30 slow-reading (8 MiB) clients against a 1-worker
#          Gunicorn sync app with nothing, nginx (defaults) or minid in front, and a probe
#          hey -z PROBE_SECS -c 10 on /hello meanwhile: requests OK, p99, errors
#   cost   the proxy's own cost: wrk -t1 -c50 through nginx (keepalive 32) and minid (keepalive =
#          32) to a fast origin (nginx serving a 13-byte file, pinned on the client's core):
#          RPS and the proxy's CPU time per request
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_LIB="$BENCH_DIR/lib"
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

QUICK=0 ROUNDS=3 LOADS=posts,slow,cost MINID_BIN="" LOG_DIR="" INSTALL=1
SERVER_CPUS=${SERVER_CPUS:-1} CLIENT_CPUS=${CLIENT_CPUS:-0}
while (($#)); do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --loads) LOADS="$2"; shift ;;
        --minid) MINID_BIN="$2"; shift ;;
        --log-dir) LOG_DIR="$2"; shift ;;
        --no-install) INSTALL=0 ;;
        --server-cpus) SERVER_CPUS="$2"; shift ;;
        --client-cpus) CLIENT_CPUS="$2"; shift ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if ((QUICK)); then
    ROUNDS=1 HEY_N=${HEY_N:-500} HEY_C=${HEY_C:-50} PROBE_SECS=${PROBE_SECS:-3} WRK_SECS=${WRK_SECS:-3}
else
    HEY_N=${HEY_N:-2000} HEY_C=${HEY_C:-50} PROBE_SECS=${PROBE_SECS:-10} WRK_SECS=${WRK_SECS:-10}
fi
WAN_RTT_MS=${WAN_RTT_MS:-100}
SLOW_SETUP_SECS=3
PY=/usr/bin/python3
MAX_BUSY=${MAX_BUSY:-15}
MINID_BIN=${MINID_BIN:-$REPO_DIR/build-bench/minid}
[[ -x "$MINID_BIN" ]] || { echo "no minid at $MINID_BIN: build it (bench/run.sh does) or give --minid" >&2; exit 2; }
MINID_BIN=$(realpath "$MINID_BIN")

STAMP=$(date +%Y%m%d-%H%M%S)
if [[ -z "$LOG_DIR" ]]; then LOG_DIR="$BENCH_DIR/out/proxy-$STAMP"; fi
mkdir -p "$LOG_DIR"
RESULTS_TSV="$LOG_DIR/proxy-results.tsv"  # its own: report.py knows only its loads
WARNINGS_TXT="$LOG_DIR/warnings.txt"
touch "$RESULTS_TSV" "$WARNINGS_TXT"
BENCH_TMP=$(mktemp -d /tmp/minid-proxy-bench.XXXXXX)
chmod 755 "$BENCH_TMP"
# shellcheck source=lib/common.sh
source "$BENCH_LIB/common.sh"

declare -A PID=()
cleanup() {
    local rc=$? k
    trap - EXIT INT TERM
    for k in "${!PID[@]}"; do kill -TERM -- "-${PID[$k]}" 2>/dev/null || true; done
    for k in "${!PID[@]}"; do wait "${PID[$k]}" 2>/dev/null || true; done
    rm -rf "$BENCH_TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tools -------------------------------------------------------------------------------------
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v hey >/dev/null || need+=(hey)
command -v wrk >/dev/null || need+=(wrk)
[[ -x /usr/bin/gunicorn ]] || need+=(gunicorn)
"$PY" -c 'import waitress' 2>/dev/null || need+=(python3-waitress)
"$PY" -c 'import gevent' 2>/dev/null || need+=(python3-gevent)
if ((${#need[@]})); then
    ((INSTALL)) || die "missing: ${need[*]} (drop --no-install)"
    log "apt-get install ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

client() { taskset -c "$CLIENT_CPUS" timeout --kill-after=5 "$@"; }

# start NAME CPUS CMD...: a background process in its own session (stopped by its group).
start() {
    local name="$1" cpus="$2"
    shift 2
    setsid taskset -c "$cpus" "$@" >"$BENCH_TMP/$name.log" 2>&1 &
    PID[$name]=$!
}
stop() {
    local pid=${PID[$1]:-}
    [[ -n "$pid" ]] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PID[$1]"
}
wait_hello() { wait_http "http://127.0.0.1:$2/hello" "Hello, world!" "${PID[$1]}" 20 || die "$1 does not answer on port $2 (log: $(tail -n 5 "$BENCH_TMP/$1.log"))"; }

DOCROOT="$BENCH_TMP/root"
mkdir -p "$DOCROOT"
printf 'Hello, world!' >"$DOCROOT/hello.txt"
cp "$DOCROOT/hello.txt" "$DOCROOT/hello"  # the origin answers /hello like the app
chmod -R a+rX "$DOCROOT"

# app NAME KIND PORT: tests/apps/app.py under KIND, pinned with the servers. Gunicorn gevent runs
# (2 x CPUs) + 1 workers as its docs advise (CPUs = the servers' CPUs), as in the posts' table.
app() {
    local ncpu
    ncpu=$(taskset -c "$SERVER_CPUS" nproc)
    mkdir -p "$BENCH_TMP/state-$1"
    start "$1" "$SERVER_CPUS" env APP_STATE_DIR="$BENCH_TMP/state-$1" GEVENT_WORKERS=$((2 * ncpu + 1)) \
        "$REPO_DIR/tests/apps/serve.sh" "$2" "127.0.0.1:$3"
    wait_hello "$1" "$3"
}

# nginx_front NAME PORT UPSTREAM_PORT [KEEPALIVE]: nginx as its experts configure a proxy, with
# keepalive KEEPALIVE (0: none, nginx's default) in its upstream block; buffering at defaults.
nginx_front() {
    local dir="$BENCH_TMP/$1" ka=${4:-32}
    mkdir -p "$dir"
    chmod 777 "$dir"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;
    keepalive_requests 1000000;
    upstream app {
        server 127.0.0.1:$3;
        $( ((ka > 0)) && echo "keepalive $ka;")
    }
    server {
        listen 127.0.0.1:$2 backlog=4096;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
CONF
    start "$1" "$SERVER_CPUS" nginx -p "$dir/" -c "$dir/nginx.conf"
    wait_hello "$1" "$2"
}

# minid_front NAME PORT UPSTREAM_PORT: minid proxying everything, keepalive = 32.
minid_front() {
    local dir="$BENCH_TMP/$1"
    mkdir -p "$dir"
    cat >"$dir/minid.conf" <<CONF
[server]
listen = 127.0.0.1:$2
workers = 1
access_log = off
control_socket = off
log_level = warn

[upstream app]
server = 127.0.0.1:$3
keepalive = 32

[site app]
default = on
root = $DOCROOT
proxy = / app
CONF
    start "$1" "$SERVER_CPUS" "$MINID_BIN" -c "$dir/minid.conf"
    wait_http "http://127.0.0.1:$2/hello" "Hello, world!" "${PID[$1]}" 20 && return 0
    warn "minid does not proxy ($MINID_BIN without the reverse proxy?): $(tail -n 3 "$BENCH_TMP/$1.log" | tr '\n' ' ')"
    stop "$1"
    return 1
}

# origin NAME PORT: a fast static origin (nginx serving /hello), pinned on the client's core so
# the proxy has its core to itself.
origin() {
    local dir="$BENCH_TMP/$1"
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    open_file_cache max=100;
    server { listen 127.0.0.1:$2 backlog=4096; root $DOCROOT; default_type text/plain; }
}
CONF
    start "$1" "$CLIENT_CPUS" nginx -p "$dir/" -c "$dir/nginx.conf"
    wait_hello "$1" "$2"
}

# relay NAME PORT TARGET_PORT: bench/lib/wanrelay.py adding WAN_RTT_MS of round trip (it delays
# each direction by its argument, so half the RTT), on the client's core.
relay() {
    start "$1" "$CLIENT_CPUS" "$PY" "$BENCH_LIB/wanrelay.py" "$2" 127.0.0.1 "$3" $((WAN_RTT_MS / 2)) 100000
    local i
    for i in $(seq 50); do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$2/hello" && return; sleep 0.1; done
    die "relay $1 does not forward to $3"
}

raw() { echo "$LOG_DIR/r$1-$2-$3.txt"; }
parse() { "$PY" "$BENCH_LIB/parse_output.py" "$@" 2>>"$WARNINGS_TXT" || true; }
kv() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "nan" : v) }'; }
# alternate ROUND ITEMS...: the items, reversed on even rounds.
alternate() {
    local round="$1" i
    shift
    if ((round % 2)); then printf '%s\n' "$@"; else for ((i = $#; i >= 1; i--)); do echo "${!i}"; done; fi
}

# ---- (a) the posts' measurement ------------------------------------------------------------
load_posts() {
    local kinds=(gunicorn-sync gunicorn-gevent waitress) kind round front net port out parsed before after
    local -A port_of=()
    for kind in "${kinds[@]}"; do
        log "posts: $kind"
        app "app-$kind" "$kind" 19100
        nginx_front "nginx-$kind" 19101 19100
        local fronts=(direct nginx)
        minid_front "minid-$kind" 19102 19100 && fronts+=(minid)
        relay "wan-direct" 19110 19100
        relay "wan-nginx" 19111 19101
        [[ -z "${PID[minid-$kind]:-}" ]] || relay "wan-minid" 19112 19102
        port_of=([direct/loopback]=19100 [nginx/loopback]=19101 [minid/loopback]=19102
            [direct/wan]=19110 [nginx/wan]=19111 [minid/wan]=19112)
        for ((round = 1; round <= ROUNDS; round++)); do
            check_quiet "posts $kind round $round"
            for net in loopback wan; do
                for front in $(alternate "$round" "${fronts[@]}"); do
                    port=${port_of[$front/$net]}
                    out=$(raw "$round" posts "$kind-$front-$net")
                    local pid=${PID[app-$kind]}
                    [[ $front == direct ]] || pid=${PID[$front-$kind]}
                    before=$(server_cpu "$pid")
                    client 300 hey -n "$HEY_N" -c "$HEY_C" "http://127.0.0.1:$port/hello" >"$out" 2>&1 || true
                    sleep 0.1
                    after=$(server_cpu "$pid")
                    parsed=$(parse hey "$out" "$HEY_N")
                    record_kv "$round" proxy-posts "$kind/$front/$net" <<<"$parsed"
                    [[ $front == direct ]] || record "$round" proxy-posts "$kind/$front/$net" front_cpu_us_per_req \
                        "$(cpu_per_unit "$before" "$after" "$(kv requests <<<"$parsed")" 1e6)"
                    log "posts $kind $front $net: $(kv rps <<<"$parsed") RPS, p99 $(kv p99_ms <<<"$parsed") ms, errors $(kv errors <<<"$parsed")"
                done
            done
        done
        for p in wan-direct wan-nginx wan-minid "minid-$kind" "nginx-$kind" "app-$kind"; do stop "$p"; done
    done
}

# ---- (b) slow clients ------------------------------------------------------------------------
load_slow() {
    local round kind front port out parsed n slow_out
    local -A count=([headers]=100 [uploads]=100 [readers]=30)
    for ((round = 1; round <= ROUNDS; round++)); do
        check_quiet "slow round $round"
        for kind in headers uploads readers; do
            for front in $(alternate "$round" none nginx minid); do
                # A fresh app each time: slow clients facing it directly leave it stuck.
                app app-slow gunicorn-sync 19200
                port=19200
                case $front in
                    nginx) nginx_front nginx-slow 19201 19200; port=19201 ;;
                    minid) minid_front minid-slow 19202 19200 || { stop app-slow; continue; }; port=19202 ;;
                esac
                n=${count[$kind]}
                slow_out=$(raw "$round" slow "$kind-$front-clients")
                client $((SLOW_SETUP_SECS + PROBE_SECS + 30)) "$PY" "$BENCH_LIB/slow_clients.py" "$kind" "$n" "$port" \
                    $((SLOW_SETUP_SECS + PROBE_SECS + 6)) >"$slow_out" 2>&1 &
                local slow_pid=$!
                sleep "$SLOW_SETUP_SECS"
                out=$(raw "$round" slow "$kind-$front")
                client $((PROBE_SECS + 30)) hey -z "${PROBE_SECS}s" -c 10 -t 5 "http://127.0.0.1:$port/hello" >"$out" 2>&1 || true
                parsed=$(parse hey "$out" 0)
                record_kv "$round" proxy-slow "$kind/$front" <<<"$parsed"
                log "slow $kind ($n) $front: $(kv requests <<<"$parsed") OK, p99 $(kv p99_ms <<<"$parsed") ms, errors $(kv errors <<<"$parsed")"
                wait "$slow_pid" 2>/dev/null || true
                stop minid-slow
                stop nginx-slow
                stop app-slow
            done
        done
    done
}

# ---- (c) the proxy's own cost ----------------------------------------------------------------
load_cost() {
    local round front port out parsed before after
    origin origin 19300
    nginx_front nginx-cost 19301 19300
    local fronts=(nginx)
    minid_front minid-cost 19302 19300 && fronts+=(minid)
    local -A port_of=([nginx]=19301 [minid]=19302)
    for front in "${fronts[@]}"; do  # warm-up: pools filled, pages cached
        client 20 wrk -t1 -c50 -d1s "http://127.0.0.1:${port_of[$front]}/hello" >/dev/null 2>&1 || true
    done
    for ((round = 1; round <= ROUNDS; round++)); do
        check_quiet "cost round $round"
        for front in $(alternate "$round" "${fronts[@]}"); do
            port=${port_of[$front]}
            out=$(raw "$round" cost "$front")
            before=$(server_cpu "${PID[$front-cost]}")
            client $((WRK_SECS + 30)) wrk -t1 -c50 -d"${WRK_SECS}s" --latency -s "$BENCH_LIB/wrk_report.lua" \
                "http://127.0.0.1:$port/hello" >"$out" 2>&1 || true
            after=$(server_cpu "${PID[$front-cost]}")
            parsed=$(parse wrk "$out")
            record_kv "$round" proxy-cost "$front" <<<"$parsed"
            record "$round" proxy-cost "$front" cpu_us_per_req "$(cpu_per_unit "$before" "$after" "$(kv requests <<<"$parsed")" 1e6)"
            log "cost $front: $(kv rps <<<"$parsed") RPS, $(cpu_per_unit "$before" "$after" "$(kv requests <<<"$parsed")" 1e6) us CPU/request, errors $(kv errors <<<"$parsed")"
        done
    done
    stop minid-cost
    stop nginx-cost
    stop origin
}

{
    echo "proxy_command bench/proxy.sh --rounds $ROUNDS --loads $LOADS$( ((QUICK)) && echo " --quick")"
    echo "proxy_sizes hey -n $HEY_N -c $HEY_C; probe hey -z ${PROBE_SECS}s -c 10; wrk -t1 -c50 -d${WRK_SECS}s; WAN RTT ${WAN_RTT_MS} ms"
    echo "proxy_versions $(nginx -v 2>&1 | head -1); gunicorn $("$PY" -c 'import gunicorn; print(gunicorn.__version__)'); waitress $("$PY" -c 'import importlib.metadata as m; print(m.version("waitress"))'); $("$MINID_BIN" --version 2>&1 | head -1)"
} >>"$LOG_DIR/proxy-meta.txt"
for load in ${LOADS//,/ }; do
    case $load in
        posts | slow | cost) "load_$load" ;;
        *) die "unknown proxy load: $load" ;;
    esac
done
"$PY" "$BENCH_LIB/proxy_report.py" "$LOG_DIR" >"$LOG_DIR/proxy.md"
cat "$LOG_DIR/proxy.md"
[[ ! -s "$WARNINGS_TXT" ]] || { echo "Warnings:"; sed 's/^/- /' "$WARNINGS_TXT"; }
