# Shared helpers for bench/run.sh: messages, the results file, /proc sampling, waiting on ports.
# Sourced, not run. Expects BENCH_TMP, RESULTS_TSV, WARNINGS_TXT and PY to be set by run.sh.

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

warn() {
    printf '[bench %(%H:%M:%S)T] WARNING: %s\n' -1 "$*" >&2
    [[ -n "${WARNINGS_TXT:-}" ]] && printf '%s\n' "$*" >>"$WARNINGS_TXT"
    return 0
}

die() {
    printf '[bench] ERROR: %s\n' "$*" >&2
    exit 1
}

# record ROUND LOAD SERVER METRIC VALUE: one measurement, one row of the results table.
record() {
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS_TSV"
}

# record_kv ROUND LOAD SERVER < "key value" lines (as printed by parse_output.py)
record_kv() {
    local key value
    while read -r key value; do
        [[ -n "$key" ]] && record "$1" "$2" "$3" "$key" "$value"
    done
}

proctree() { "$PY" "$BENCH_LIB/proctree.py" "$@"; }

# Server CPU seconds (all processes of the tree rooted at PID, reaped children included).
server_cpu() { proctree cpu "$1" 2>/dev/null || echo 0; }

# cpu_per_unit BEFORE AFTER UNITS SCALE -> CPU seconds * SCALE / UNITS (e.g. µs per request)
cpu_per_unit() {
    awk -v b="$1" -v a="$2" -v n="$3" -v s="$4" \
        'BEGIN { if (n > 0) printf "%.2f\n", (a - b) * s / n; else print "nan" }'
}

# wait_http URL EXPECTED_BODY PID SECONDS: until the URL answers with the body, or fail.
wait_http() {
    local url="$1" want="$2" pid="$3" deadline=$((SECONDS + $4)) got
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        got=$(curl -s --max-time 1 "$url" 2>/dev/null || true)
        [[ "$got" == "$want" ]] && return 0
        sleep 0.1
    done
    return 1
}

# Seconds-bounded wait for a pid to exit; returns 1 if it is still there.
wait_pid_gone() {
    local pid="$1" deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    ! kill -0 "$pid" 2>/dev/null
}

# Busy fraction of all CPUs over one second, in percent (from /proc/stat).
cpu_busy_percent() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 1
    b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        n = split(a, x); split(b, y); tot = 0; idle = 0
        for (i = 2; i <= n; i++) tot += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%.0f\n", (tot > 0 ? 100 * (tot - idle) / tot : 0) }'
}

# Before anything starts: is someone else using the machine? (Later the 1-minute loadavg mostly
# shows the bench's own loads, so each round is judged by an instant 1-second CPU sample.)
check_machine_idle() {
    local load1
    load1=$(cut -d' ' -f1 /proc/loadavg)
    log "before start: loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
    if awk -v l="$load1" -v m="$MAX_LOADAVG" 'BEGIN { exit !(l > m) }'; then
        warn "loadavg $load1 > $MAX_LOADAVG before the bench started: the machine is busy, figures are suspect"
    fi
}

check_quiet() {
    local label="$1" busy
    busy=$(cpu_busy_percent)
    log "$label: loadavg $(cut -d' ' -f1-3 /proc/loadavg) (includes the bench), CPU busy ${busy}% over 1 s"
    if ((busy > MAX_BUSY)); then
        warn "$label: CPU ${busy}% busy over 1 s (> ${MAX_BUSY}%) with the bench idle: its figures are suspect"
    fi
}
