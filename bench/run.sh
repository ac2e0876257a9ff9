#!/usr/bin/env bash
# Benchmark suite: minid against nginx, h2o and lighttpd (optionally waitress, gunicorn) on
# loopback, each server run by hand with its own config in a temp dir, and the posts' table
# (Python server designs and WSGI servers beside them). See bench/README.md.
#
#   bench/run.sh [--quick] [--rounds N] [--workers N] [--servers LIST] [--loads LIST]
#                [--skip LIST] [--no-LOAD] [--idle-conns N] [--close-tool ab|wrk]
#                [--table posts] [--posts] [--write-results] [--minid-base PATH]
#                [--no-install] [--no-build] [--minid PATH] [--out DIR] [--keep-tmp]
#   bench/run.sh --report-only LOG_DIR [--write-results] [--out DIR]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_LIB="$BENCH_DIR/lib"
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
ALL_LOADS=(hey keepalive close big idle reload spread capped
    tls-keepalive tls-full tls-full-rsa tls-resumed tls-big tls-idle)
TLS_LOAD_LIST=tls-keepalive,tls-full,tls-full-rsa,tls-resumed,tls-big,tls-idle

usage() {
    cat <<'EOF'
usage: bench/run.sh [options]
  --quick             smoke test: 1 round, short loads, fewer connections
  --rounds N          measured rounds (default 3; servers interleaved, order alternated)
  --workers N         worker processes (h2o: threads) for every server (default 1)
  --servers LIST      comma list of minid,nginx,h2o,lighttpd,waitress,gunicorn,nginx-deferred,
                      minid-poll,minid-quickack (default minid,nginx,h2o,lighttpd; "all" =
                      the first six; nginx-deferred is nginx with "listen ... deferred", i.e.
                      TCP_DEFER_ACCEPT like minid's default; minid-poll is minid with
                      busy_poll = 50us, minid-quickack with delayed_ack = off)
  --minid-base PATH   also measure this minid binary (e.g. built from an older commit) as
                      server minid-base, with minid's config: paired minid/minid-base ratios
  --minid-base-rev R  the same with minid built from commit R (git archive into
                      build-bench-base/, built once)
  --table posts       only the posts' table: hey -n 2000 -c 50 against the Python designs of
                      bench/posts/, gunicorn (sync, gevent), waitress and the servers above
  --posts             the posts' table after the loads, in the same run (and report)
  --write-results     also write bench/RESULTS.md, its charts and bench/RESULTS-configs.md
  --proxy [LOADS]     also the reverse-proxy loads of bench/proxy.sh (posts,slow,cost: all by
                      default) in the same run and report; --proxy-only runs only those
  --loads LIST        comma list of hey,keepalive,close,big,idle,reload,spread,capped,
                      tls-keepalive,tls-full,tls-full-rsa,tls-resumed,tls-big,tls-idle (default
                      all; capped needs root and a cgroup with the cpu controller)
  --tls               only the TLS loads (the tls-* above); --no-tls leaves them out
  --skip LIST         loads to leave out; --no-LOAD (e.g. --no-idle) does the same for one
  --idle-conns N      idle keep-alive connections of the idle load (default 10000)
  --close-tool T      ab (default) or wrk (wrk -H 'Connection: close') for the close load
  --server-cpus L     CPUs the servers are pinned to (default 1); --client-cpus L (default 0)
  --no-install        do not apt-get missing tools
  --no-build          do not build minid (use --minid PATH or an existing build)
  --minid PATH        minid binary to measure (default: build-bench/minid, built in Release)
  --out DIR           where results go (default bench/out)
  --keep-tmp          keep the temp dir (configs, server logs) for inspection
  --report-only DIR   measure nothing: write the report again from a run's raw outputs
                      (bench/out/logs-DATE) into results-DATE.md beside it, and with
                      --write-results into bench/RESULTS.md (after a change to lib/report.py)
EOF
}

# ---- options ---------------------------------------------------------------------------------
COMMAND_LINE="bench/run.sh $*"
ROUNDS=3 WORKERS=1 QUICK=0 INSTALL=1 BUILD=1 KEEP_TMP=0 CLOSE_TOOL=ab IDLE_CONNS="" POSTS=0
WRITE_RESULTS=0 REPORT_ONLY="" PROXY_LOADS="" MINID_BASE_BIN="" MINID_BASE_REV="" LOADS_ONLY_POSTS=0
SERVERS="minid,nginx,h2o,lighttpd" LOADS="hey,keepalive,close,big,idle,reload,spread,capped,$TLS_LOAD_LIST" SKIP=""
SERVER_CPUS=1 CLIENT_CPUS=0 MINID_BIN="" OUT_DIR="$BENCH_DIR/out"
while (($#)); do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --workers) WORKERS="$2"; shift ;;
        --servers) SERVERS="$2"; shift ;;
        --loads) LOADS="$2"; shift ;;
        --skip) SKIP="$SKIP,$2"; shift ;;
        --idle-conns) IDLE_CONNS="$2"; shift ;;
        --close-tool) CLOSE_TOOL="$2"; shift ;;
        --server-cpus) SERVER_CPUS="$2"; shift ;;
        --client-cpus) CLIENT_CPUS="$2"; shift ;;
        --no-install) INSTALL=0 ;;
        --no-build) BUILD=0 ;;
        --minid) MINID_BIN="$2"; shift ;;
        --minid-base) MINID_BASE_BIN="$2"; shift ;;
        --minid-base-rev) MINID_BASE_REV="$2"; shift ;;
        --table)
            [[ "$2" == posts ]] || { echo "--table: the only table is posts" >&2; exit 2; }
            POSTS=1 LOADS_ONLY_POSTS=1
            shift
            ;;
        --posts) POSTS=1 ;;
        --write-results) WRITE_RESULTS=1 ;;
        --report-only) REPORT_ONLY="$2"; shift ;;
        --proxy | --proxy-only)
            [[ "$1" == --proxy-only ]] && LOADS="" SERVERS=minid
            PROXY_LOADS=posts,slow,cost
            if [[ "${2:-}" =~ ^(posts|slow|cost)(,(posts|slow|cost))*$ ]]; then PROXY_LOADS="$2"; shift; fi
            ;;
        --tls) LOADS="$TLS_LOAD_LIST" ;;
        --no-tls) SKIP="$SKIP,$TLS_LOAD_LIST" ;;
        --out) OUT_DIR="$2"; shift ;;
        --keep-tmp) KEEP_TMP=1 ;;
        --no-*) SKIP="$SKIP,${1#--no-}" ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done
[[ "$SERVERS" == all ]] && SERVERS="minid,nginx,h2o,lighttpd,waitress,gunicorn"
if [[ -n "$MINID_BASE_BIN" ]]; then
    [[ -x "$MINID_BASE_BIN" ]] || { echo "--minid-base: $MINID_BASE_BIN is not an executable" >&2; exit 2; }
    MINID_BASE_BIN=$(realpath "$MINID_BASE_BIN")
fi
if [[ -n "$MINID_BASE_BIN" || -n "$MINID_BASE_REV" ]] && [[ ",$SERVERS," != *,minid-base,* ]]; then
    SERVERS="$SERVERS,minid-base"
fi
((LOADS_ONLY_POSTS)) && LOADS=""
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$WORKERS" =~ ^[1-9][0-9]*$ ]] || { echo "bad --rounds/--workers" >&2; exit 2; }
[[ "$CLOSE_TOOL" == ab || "$CLOSE_TOOL" == wrk ]] || { echo "--close-tool is ab or wrk" >&2; exit 2; }

# ---- load sizes: full measurement, or --quick smoke test ----------------------------------
if ((QUICK)); then
    ROUNDS=1 HEY_REPEAT=1 HEY_N=500 HEY_C=20 WRK_SECS=2 WRK_C=20 AB_N=2000 AB_C=8 BIG_C=4
    PROBE_SECS=2 PROBE_C=10 IDLE_CONNS=${IDLE_CONNS:-1000} RELOAD_SECS=5 RELOADS=6 RELOAD_GAP=0.5
    SPREAD_SECS=3 IDLE_HOLD_MAX=60 TLS_SECS=2 STIME_SECS=2
else
    HEY_REPEAT=${HEY_REPEAT:-5} HEY_N=2000 HEY_C=50 WRK_SECS=10 WRK_C=50 AB_N=20000 AB_C=8 BIG_C=8
    PROBE_SECS=5 PROBE_C=10 IDLE_CONNS=${IDLE_CONNS:-10000} RELOAD_SECS=${RELOAD_SECS:-20}
    RELOADS=${RELOADS:-20} RELOAD_GAP=${RELOAD_GAP:-0.5}
    SPREAD_SECS=10 IDLE_HOLD_MAX=120 TLS_SECS=${TLS_SECS:-3} STIME_SECS=${STIME_SECS:-2}
fi
# The TLS idle load's connections (each a full handshake), and its probes' length (shorter than
# the plain idle load's: the TLS loads must fit in about 8 minutes at --rounds 5).
TLS_IDLE_CONNS=${TLS_IDLE_CONNS:-1000} TLS_PROBE_SECS=${TLS_PROBE_SECS:-1}
# The capped load's CPU quota per 100 ms period: 50000 = half a CPU.
CAPPED_QUOTA_US=${CAPPED_QUOTA_US:-50000}
# Connection spread is about how the kernel hands connections to 2 workers: give them both CPUs.
SPREAD_CPUS=${SPREAD_CPUS:-0,1}
MAX_BUSY=${MAX_BUSY:-15} MAX_LOADAVG=${MAX_LOADAVG:-1.0}

# The posts' table: its rows beyond the servers of --servers (which join it too), in the order
# of the posts. gunicorn runs (2 x CPUs) + 1 workers as its docs advise, the pools 8.
POSTS_SERVERS=${POSTS_SERVERS:-py-sequential,py-fork,py-forkingserver,py-thread,py-threadingserver,py-processpool,py-threadpool,py-selectors,py-asyncio,gunicorn,gunicorn-gevent,waitress}

SELECTED_LOADS=()
for load in ${LOADS//,/ }; do
    [[ " ${ALL_LOADS[*]} " == *" $load "* ]] || { echo "unknown load: $load" >&2; exit 2; }
    [[ ",$SKIP," == *",$load,"* ]] || SELECTED_LOADS+=("$load")
done

TLS_ON=0
[[ " ${SELECTED_LOADS[*]} " == *" tls-"* ]] && TLS_ON=1

# ---- tools -----------------------------------------------------------------------------------
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=$(command -v python3)

# shellcheck source=lib/common.sh
source "$BENCH_LIB/common.sh"
# shellcheck source=lib/servers.sh
source "$BENCH_LIB/servers.sh"
# shellcheck source=lib/loads.sh
source "$BENCH_LIB/loads.sh"
# shellcheck source=lib/tls_loads.sh
source "$BENCH_LIB/tls_loads.sh"
# shellcheck source=lib/cgroup.sh
source "$BENCH_LIB/cgroup.sh"

# ---- report ----------------------------------------------------------------------------------
# write_reports: the report of LOG_DIR as OUT_DIR/results-STAMP.md, its charts and configs file
# beside it, and with --write-results bench/RESULTS.md, RESULTS.png, RESULTS-posts.png and
# RESULTS-configs.md, each replaced whole.
report() {  # report MARKDOWN CHART POSTS_CHART CONFIGS
    "$PY" "$BENCH_LIB/report.py" --logs "$LOG_DIR" --out "$1" --chart "$2" --posts-chart "$3" --configs "$4"
}
write_reports() {
    REPORT="$OUT_DIR/results-$STAMP.md"
    report "$REPORT" "$OUT_DIR/results-$STAMP.png" "$OUT_DIR/results-$STAMP-posts.png" \
        "$OUT_DIR/results-$STAMP-configs.md"
    cat "$REPORT"
    if ((WRITE_RESULTS)); then
        grep -qx 'quick 1' "$LOG_DIR/meta.txt" &&
            warn "--write-results with --quick: bench/RESULTS.md now holds a smoke run, not a measurement"
        # A run without the posts' table (or the loads) writes no chart of it: no stale one stays.
        rm -f "$BENCH_DIR/RESULTS.png" "$BENCH_DIR/RESULTS-posts.png"
        report "$BENCH_DIR/RESULTS.md" "$BENCH_DIR/RESULTS.png" "$BENCH_DIR/RESULTS-posts.png" \
            "$BENCH_DIR/RESULTS-configs.md"
        log "wrote bench/RESULTS.md, RESULTS.png, RESULTS-posts.png, RESULTS-configs.md"
    fi
    log "report: $REPORT (charts and configs beside it); raw outputs: $LOG_DIR"
}

if [[ -n "$REPORT_ONLY" ]]; then
    [[ -f "$REPORT_ONLY/results.tsv" && -f "$REPORT_ONLY/meta.txt" ]] ||
        die "--report-only: $REPORT_ONLY has no results.tsv and meta.txt (give a run's bench/out/logs-DATE)"
    LOG_DIR=$(cd "$REPORT_ONLY" && pwd)
    STAMP=$(basename "$LOG_DIR") && STAMP=${STAMP#logs-}
    mkdir -p "$OUT_DIR"
    write_reports
    exit 0
fi

APT_UPDATED=0
apt_install() {
    ((INSTALL)) || return 1
    command -v apt-get >/dev/null || return 1
    if ((!APT_UPDATED)); then
        log "apt-get update"
        timeout 600 apt-get update -qq >&2 || true
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends "$@" >&2
}

ensure_tools() {
    local -A pkg_of=([nginx]=nginx-light [h2o]=h2o [lighttpd]=lighttpd [wrk]=wrk [hey]=hey
        [ab]=apache2-utils [gnuplot]=gnuplot-nox [curl]=curl [taskset]=util-linux [cc]=gcc [openssl]=openssl)
    local missing=() cmd
    for cmd in "${!pkg_of[@]}"; do
        command -v "$cmd" >/dev/null || missing+=("${pkg_of[$cmd]}")
    done
    if ((${#missing[@]})); then
        apt_install "${missing[@]}" || die "missing tools (${missing[*]}): install them or drop --no-install"
    fi
    # lighttpd's TLS is a module of its own package.
    if ((TLS_ON)) && [[ ",$SERVERS," == *,lighttpd,* && ! -e /usr/lib/lighttpd/mod_openssl.so ]]; then
        apt_install lighttpd-mod-openssl || warn "lighttpd-mod-openssl unavailable: lighttpd's TLS loads skipped"
    fi
    local wanted=",$SERVERS,"
    ((POSTS)) && wanted="$wanted$POSTS_SERVERS,"
    if [[ "$wanted" == *,waitress,* ]] && ! "$PY" -c 'import waitress' 2>/dev/null; then
        apt_install python3-waitress || warn "python3-waitress unavailable: waitress skipped"
    fi
    if [[ "$wanted" == *,gunicorn* ]] && ! "$PY" -c 'import gunicorn' 2>/dev/null; then
        apt_install gunicorn || warn "gunicorn unavailable: gunicorn skipped"
    fi
    if [[ "$wanted" == *,gunicorn-gevent,* ]] && ! "$PY" -c 'import gevent' 2>/dev/null; then
        apt_install python3-gevent || warn "python3-gevent unavailable: gunicorn-gevent skipped"
    fi
}

# build_minid SOURCE_DIR BUILD_DIR LOG: minid in Release, tests off.
build_minid() {
    local src="$1" build="$2" out="$3" deps=(cmake ninja-build g++ pkg-config libuv1-dev libinih-dev
        libsystemd-dev nlohmann-json3-dev node-llhttp) missing=() p
    for p in "${deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if ((${#missing[@]})); then apt_install "${missing[@]}" || { warn "cannot install ${missing[*]}"; return 1; }; fi
    log "building minid (Release) from $src in $build"
    if ! cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMINID_TESTS=OFF \
        >"$out" 2>&1 || ! timeout 1800 cmake --build "$build" -j2 >>"$out" 2>&1; then
        warn "minid build failed (see $out)"
        return 1
    fi
}

# build_minid_rev REV: minid as of commit REV, exported with git archive (the repository's
# worktrees and branches stay as they are) into build-bench-base/SHA/ and built there once;
# prints the binary's path.
build_minid_rev() {
    local sha dir
    sha=$(git -C "$REPO_DIR" rev-parse --short "$1^{commit}" 2>/dev/null) || { warn "--minid-base-rev: no commit $1"; return 1; }
    dir="$REPO_DIR/build-bench-base/$sha"
    if [[ ! -x "$dir/build/minid" ]]; then
        rm -rf "$dir" && mkdir -p "$dir/src" || return 1
        git -C "$REPO_DIR" archive "$sha" | tar -x -C "$dir/src" || { warn "git archive $sha failed"; return 1; }
        build_minid "$dir/src" "$dir/build" "$LOG_DIR/minid-base-build.txt" || return 1
    fi
    echo "$dir/build/minid"
}

# ---- setup -----------------------------------------------------------------------------------
STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT_DIR"
LOG_DIR="$OUT_DIR/logs-$STAMP"
mkdir -p "$LOG_DIR"
RESULTS_TSV="$LOG_DIR/results.tsv"
WARNINGS_TXT="$LOG_DIR/warnings.txt"
: >"$RESULTS_TSV"
: >"$WARNINGS_TXT"
BG_PIDS=()
BENCH_TMP=$(mktemp -d /tmp/minid-bench.XXXXXX)
# Workers of nginx and h2o drop to nobody: they must be able to read the docroot.
chmod 755 "$BENCH_TMP"

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    server_stop_all
    for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    # A capped load's cgroup left behind by an interruption (empty now that its server is gone).
    [[ -z "${CG_BASE:-}" ]] || rmdir "$CG_BASE/minid-bench-$$-"* 2>/dev/null || true
    if ((KEEP_TMP)); then log "temp dir kept: $BENCH_TMP"; else rm -rf "$BENCH_TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check_machine_idle
ensure_tools

if [[ " ${SELECTED_LOADS[*]} " == *" capped "* ]] && ! cg_find 2>"$BENCH_TMP/cgroup.err"; then
    warn "capped load skipped: $(cat "$BENCH_TMP/cgroup.err")"
    for i in "${!SELECTED_LOADS[@]}"; do [[ "${SELECTED_LOADS[i]}" == capped ]] && unset "SELECTED_LOADS[i]"; done
    SELECTED_LOADS=("${SELECTED_LOADS[@]}")
fi

DOCROOT="$BENCH_TMP/root"
mkdir -p "$DOCROOT"
printf 'Hello, world!' >"$DOCROOT/hello.txt"
head -c 1048576 /dev/urandom >"$DOCROOT/1m.bin"
chmod -R a+rX "$DOCROOT"

# The TLS loads' certificates, made for the run: ECDSA P-256 (every TLS load but one) and
# RSA-2048 (tls-full-rsa), self-signed for localhost; the clients do not verify them.
TLS_DIR="$BENCH_TMP/tls"
if ((TLS_ON)); then
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TLS_DIR/ecdsa.key" \
        -out "$TLS_DIR/ecdsa.pem" -days 7 -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1 &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS_DIR/rsa.key" \
            -out "$TLS_DIR/rsa.pem" -days 7 -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1 ||
        die "openssl could not make the TLS loads' certificates"
    chmod -R a+rX "$TLS_DIR"
fi

IDLE_BIN="$BENCH_TMP/idle_conns"
cc -O2 -Wall -Wextra -o "$IDLE_BIN" "$BENCH_LIB/idle_conns.c"

# 10,000 idle connections need that many fds in the server and in the client; the hard limit
# is what a process may raise itself to (root without CAP_SYS_RESOURCE cannot go beyond it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
[[ "$NOFILE" == unlimited ]] && NOFILE=1048576
if ((NOFILE < IDLE_CONNS + 600)); then
    warn "open-file limit $NOFILE is too small for $IDLE_CONNS idle connections plus probes"
fi

if [[ ",$SERVERS," =~ ,minid(-[a-z]+)?, ]]; then
    if [[ -z "$MINID_BIN" ]]; then
        MINID_BIN="$REPO_DIR/build-bench/minid"
        if ((BUILD)); then build_minid "$REPO_DIR" "$REPO_DIR/build-bench" "$LOG_DIR/minid-build.txt" || true; fi
    fi
    MINIDCTL_BIN="$(dirname "$MINID_BIN")/minidctl"
fi
MINIDCTL_BIN=${MINIDCTL_BIN:-}
if [[ -n "$MINID_BASE_REV" && -z "$MINID_BASE_BIN" ]]; then
    MINID_BASE_BIN=$(build_minid_rev "$MINID_BASE_REV") || MINID_BASE_BIN=""
    [[ -n "$MINID_BASE_BIN" ]] || warn "minid at $MINID_BASE_REV could not be built: minid-base skipped"
fi

# ---- start every server once; they serve all rounds (the spread load starts its own) ---------
STARTED=()
for name in ${SERVERS//,/ }; do
    if ! server_available "$name"; then
        warn "$name is not available: skipped"
        continue
    fi
    if server_start "$name" "$name" "$WORKERS" "${SERVER_BASE_PORT[$name]}"; then
        STARTED+=("$name")
        # The TLS loads' instance of it (the Python rows have none): the same config plus a TLS
        # listener, apart from the main instance so that TLS leaves the plain loads' figures
        # (memory above all: libcrypto's pages) as they were.
        if ((TLS_ON)) && [[ "$name" =~ ^(minid|minid-[a-z]+|nginx|nginx-deferred|h2o|lighttpd)$ ]]; then
            tls_start "$name" "$name-tls" ecdsa 300 350 ||
                warn "$name does not serve hello.txt over TLS: its TLS loads are skipped"
        fi
    else
        warn "$name does not serve files: skipped"
    fi
done
((${#STARTED[@]})) || die "no server could be started"

# Warm-up: page cache, lazily built structures, first-connection costs stay out of round 1.
warm_up() {
    client 20 wrk -t1 -c8 -d1s "http://127.0.0.1:${SRV_PORT[$1]}/hello.txt" >/dev/null 2>&1 || true
    client 20 wrk -t1 -c2 -d1s "http://127.0.0.1:${SRV_PORT[$1]}/1m.bin" >/dev/null 2>&1 || true
    if tls_has "$1"; then
        client 20 wrk -t1 -c8 -d1s "$(tls_url "$1" /hello.txt)" >/dev/null 2>&1 || true
        client 20 wrk -t1 -c2 -d1s "$(tls_url "$1" /1m.bin)" >/dev/null 2>&1 || true
        client 20 openssl s_time -connect "127.0.0.1:${SRV_TLS_PORTS[$1-tls]}" -new -time 1 >/dev/null 2>&1 || true
    fi
}
# Memory of each server once warm, per worker process: RSS, and the private part of it (USS).
record_memory() {
    local rss
    rss=$(proctree rss "${SRV_PID[$1]}")
    record 0 memory "$1" rss_per_worker_kib \
        "$(awk -v t="${rss%% *}" -v list="${rss#* }" 'BEGIN { n = split(list, w, " "); printf "%.0f\n", (n > 0 ? t / n : t) }')"
    local uss
    uss=$(proctree private "${SRV_PID[$1]}")
    record 0 memory "$1" private_per_worker_kib \
        "$(awk -v t="${uss%% *}" -v list="${uss#* }" 'BEGIN { n = split(list, w, " "); printf "%.0f\n", (n > 0 ? t / n : t) }')"
}
for key in "${STARTED[@]}"; do
    warm_up "$key"
    record_memory "$key"
done

commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$REPO_DIR" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then commit="$commit+changes"; fi
{
    echo "date $STAMP"
    echo "commit $commit"
    echo "command $COMMAND_LINE"
    echo "quick $QUICK"
    echo "rounds $ROUNDS"
    echo "workers $WORKERS"
    echo "servers ${STARTED[*]}"
    echo "loads ${SELECTED_LOADS[*]}"
    echo "posts $POSTS"
    echo "server_cpus $SERVER_CPUS"
    echo "client_cpus $CLIENT_CPUS"
    echo "spread_cpus $SPREAD_CPUS"
    echo "close_tool $CLOSE_TOOL"
    echo "capped_quota_us $CAPPED_QUOTA_US"
    echo "size hey hey -n $HEY_N -c $HEY_C, $HEY_REPEAT burst(s) per round"
    echo "size keepalive wrk -t1 -c$WRK_C -d${WRK_SECS}s"
    echo "size close $CLOSE_TOOL, $AB_N requests from $AB_C clients (wrk: ${WRK_SECS}s)"
    echo "size big wrk -t1 -c$BIG_C -d${WRK_SECS}s on 1m.bin"
    echo "size idle $IDLE_CONNS idle connections, probe wrk -c$PROBE_C -d${PROBE_SECS}s"
    echo "size reload wrk -c$WRK_C -d${RELOAD_SECS}s, $RELOADS reloads ${RELOAD_GAP}s apart"
    echo "size spread 2 workers, wrk -c$WRK_C -d${SPREAD_SECS}s"
    echo "size capped wrk -c$WRK_C -d${WRK_SECS}s at ${CAPPED_QUOTA_US} us of CPU per 100 ms"
    echo "size tls-keepalive wrk -t1 -c$WRK_C -d${TLS_SECS}s over https"
    echo "size tls-big wrk -t1 -c$BIG_C -d${TLS_SECS}s on 1m.bin over https"
    echo "size tls-full openssl s_time -new -time $STIME_SECS (ECDSA P-256)"
    echo "size tls-full-rsa openssl s_time -new -time $STIME_SECS (RSA-2048, a fresh instance)"
    echo "size tls-resumed openssl s_time -reuse -time $STIME_SECS (session tickets)"
    echo "size tls-idle $TLS_IDLE_CONNS idle TLS connections (lib/idle_tls.py), probe wrk -c$PROBE_C -d${TLS_PROBE_SECS}s over https"
    echo "tls_idle_conns $TLS_IDLE_CONNS"
    echo "tls_idle_fresh 1"  # tls-idle on a fresh instance per round (report.py: older runs count round 1 only)
    echo "size posts hey -n $HEY_N -c $HEY_C, $HEY_REPEAT burst(s) per round"
    echo "machine $(nproc) vCPU $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(systemd-detect-virt 2>/dev/null || echo unknown-virt), Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "nofile $NOFILE"
    [[ -z "$MINID_BASE_BIN" ]] || echo "minid_base $MINID_BASE_BIN${MINID_BASE_REV:+ (commit $MINID_BASE_REV)}"
    for key in "${STARTED[@]}"; do echo "version $key $(server_version "$key")"; done
    echo "version wrk $(wrk -v 2>&1 | head -1)"
    echo "version hey 0.1.4 (Debian's hey; it prints no version)"
} >"$LOG_DIR/meta.txt"

# ---- rounds ----------------------------------------------------------------------------------
# run_rounds LOADS KEYS...: every load against every server, round after round, the servers'
# order reversed every other round so that none always goes first.
run_rounds() {
    local loads keys=("${@:2}") round load key order i
    read -ra loads <<<"$1"
    for ((round = 1; round <= ROUNDS; round++)); do
        check_quiet "round $round"
        order=("${keys[@]}")
        if ((round % 2 == 0)); then
            order=()
            for ((i = ${#keys[@]} - 1; i >= 0; i--)); do order+=("${keys[i]}"); done
        fi
        for load in "${loads[@]}"; do
            for key in "${order[@]}"; do
                log "round $round/$ROUNDS: $load on $key"
                "load_$load" "$round" "$key"
            done
        done
    done
}
((${#SELECTED_LOADS[@]} == 0)) || run_rounds "${SELECTED_LOADS[*]}" "${STARTED[@]}"

# ---- the posts' table ------------------------------------------------------------------------
# Rows: the servers already running (minid, nginx, ...) plus the Python designs and WSGI
# servers, started now, all pinned like the rest.
if ((POSTS)); then
    posts_keys=("${STARTED[@]}")
    ncpu=$(taskset -c "$SERVER_CPUS" nproc)
    for name in ${POSTS_SERVERS//,/ }; do
        [[ -n "${SRV_PID[$name]:-}" ]] && continue
        if ! server_available "$name"; then
            warn "posts' table: $name is not available: skipped"
            continue
        fi
        case "$name" in
            gunicorn*) w=$((2 * ncpu + 1)) ;;
            py-processpool | py-threadpool) w=8 ;;
            *) w=1 ;;
        esac
        if server_start "$name" "$name" "$w" "${SERVER_BASE_PORT[$name]}"; then
            warm_up "$name"
            record_memory "$name"
            posts_keys+=("$name")
        else
            warn "posts' table: $name does not serve files: skipped"
        fi
    done
    {
        echo "posts_rows ${posts_keys[*]}"
        for name in "${posts_keys[@]:${#STARTED[@]}}"; do echo "version $name $(server_version "$name")"; done
    } >>"$LOG_DIR/meta.txt"
    run_rounds posts "${posts_keys[@]}"
fi

# ---- the reverse-proxy loads (bench/proxy.sh, its own servers and apps) ---------------------
if [[ -n "$PROXY_LOADS" ]]; then
    # The suite's servers stop first: the proxy loads start their own on the same CPUs.
    server_stop_all
    proxy_args=(--rounds "$ROUNDS" --loads "$PROXY_LOADS" --minid "$MINID_BIN" --log-dir "$LOG_DIR"
        --server-cpus "$SERVER_CPUS" --client-cpus "$CLIENT_CPUS")
    ((QUICK)) && proxy_args+=(--quick)
    ((INSTALL)) || proxy_args+=(--no-install)
    "$BENCH_DIR/proxy.sh" "${proxy_args[@]}" >/dev/null || warn "bench/proxy.sh failed (see $LOG_DIR)"
fi

# ---- report ----------------------------------------------------------------------------------
write_reports
