# The loads of bench/run.sh, one function each: load_NAME ROUND KEY runs one load against one
# running server instance and records its figures, the server's CPU time per request among them
# (all its processes, user + system). Sourced by run.sh; the sizes (HEY_N, WRK_SECS, ...) are
# set there, --quick makes them small. load_posts is the posts' table (bench/run.sh --table posts).

# Raw tool output of one load: kept under bench/out/logs-DATE/ for a second look.
raw_log() { echo "$LOG_DIR/r$1-$2-$3.txt"; }

# client CMD...: the load generator, pinned to its own CPU and bounded in time.
client() { taskset -c "$CLIENT_CPUS" timeout --kill-after=5 "$@"; }

# parse TOOL FILE [N] -> "key value" lines; complaints of the parser become warnings.
parse() {
    local errs
    errs=$(mktemp "$BENCH_TMP/parse.XXXXXX")
    "$PY" "$BENCH_LIB/parse_output.py" "$@" 2>"$errs" || true
    while IFS= read -r line; do warn "$(basename "$2"): $line"; done <"$errs"
    rm -f "$errs"
}

# kv KEY < "key value" lines -> value (or nan)
kv() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "nan" : v) }'; }

# run_wrk OUT SECONDS CONNS PATH PORT [extra env]: one wrk run with the WRKSTAT hook.
run_wrk() { run_wrk_url "$1" "$2" "$3" "http://127.0.0.1:$5$4"; }

# run_wrk_url OUT SECONDS CONNS URL: the same for any URL (https for the TLS loads).
run_wrk_url() {
    local out="$1" secs="$2" conns="$3" url="$4"
    client $((secs + 30)) wrk -t1 -c"$conns" -d"${secs}s" --latency \
        -s "$BENCH_LIB/wrk_report.lua" "$url" >"$out" 2>&1 || true
}

# hey_bursts ROUND LOAD KEY: HEY_REPEAT bursts of hey -n HEY_N -c HEY_C on hello.txt, each
# recorded as sample ROUND.I with the server's CPU time per request.
hey_bursts() {
    local round="$1" load="$2" key="$3" pid="${SRV_PID[$3]}" port="${SRV_PORT[$3]}" out before after parsed i
    for ((i = 1; i <= HEY_REPEAT; i++)); do
        out=$(raw_log "$round.$i" "$load" "$key")
        before=$(server_cpu "$pid")
        client 120 hey -n "$HEY_N" -c "$HEY_C" "http://127.0.0.1:$port/hello.txt" >"$out" 2>&1 || true
        # A forking server's children exit once hey has closed their connections: let them go
        # (and be reaped into their parent's CPU time) before reading it.
        sleep 0.1
        after=$(server_cpu "$pid")
        parsed=$(parse hey "$out" "$HEY_N")
        record_kv "$round.$i" "$load" "$key" <<<"$parsed"
        record "$round.$i" "$load" "$key" cpu_us_per_req "$(cpu_per_unit "$before" "$after" "$(kv requests <<<"$parsed")" 1e6)"
    done
}

# 1. hey: a short burst of 2000 requests from 50 clients (client-bound; see README). A burst
# lasts ~0.1 s, so one sample per round is mostly noise: each round runs HEY_REPEAT bursts and
# the report's medians and ranges go over all of them.
load_hey() { hey_bursts "$1" hey "$2"; }

# The posts' table: the same bursts against every row, C servers and Python designs alike.
load_posts() { hey_bursts "$1" posts "$2"; }

# 2. keep-alive: wrk, 50 connections each sending requests back to back.
load_keepalive() {
    local round="$1" key="$2" pid="${SRV_PID[$2]}" port="${SRV_PORT[$2]}" out before after parsed
    out=$(raw_log "$round" keepalive "$key")
    before=$(server_cpu "$pid")
    run_wrk "$out" "$WRK_SECS" "$WRK_C" /hello.txt "$port"
    after=$(server_cpu "$pid")
    parsed=$(parse wrk "$out")
    record_kv "$round" keepalive "$key" <<<"$parsed"
    record "$round" keepalive "$key" cpu_us_per_req "$(cpu_per_unit "$before" "$after" "$(kv requests <<<"$parsed")" 1e6)"
}

# 3. one connection per request: ab (HTTP/1.0, no keep-alive), or wrk with Connection: close.
load_close() {
    local round="$1" key="$2" pid="${SRV_PID[$2]}" port="${SRV_PORT[$2]}" out before after parsed
    out=$(raw_log "$round" close "$key")
    before=$(server_cpu "$pid")
    if [[ "$CLOSE_TOOL" == wrk ]]; then
        WRK_CONNECTION_CLOSE=1 run_wrk "$out" "$WRK_SECS" "$AB_C" /hello.txt "$port"
        after=$(server_cpu "$pid")
        parsed=$(parse wrk "$out")
    else
        client 300 ab -q -s 10 -n "$AB_N" -c "$AB_C" "http://127.0.0.1:$port/hello.txt" >"$out" 2>&1 || true
        after=$(server_cpu "$pid")
        parsed=$(parse ab "$out" "$AB_N")
    fi
    record_kv "$round" close "$key" <<<"$parsed"
    record "$round" close "$key" cpu_us_per_req "$(cpu_per_unit "$before" "$after" "$(kv requests <<<"$parsed")" 1e6)"
}

# 4. 1 MiB file over 8 keep-alive connections: throughput.
load_big() {
    local round="$1" key="$2" pid="${SRV_PID[$2]}" port="${SRV_PORT[$2]}" out before after parsed mib
    out=$(raw_log "$round" big "$key")
    before=$(server_cpu "$pid")
    run_wrk "$out" "$WRK_SECS" "$BIG_C" /1m.bin "$port"
    after=$(server_cpu "$pid")
    parsed=$(parse wrk "$out")
    record_kv "$round" big "$key" <<<"$parsed"
    # Server CPU per MiB sent (each request is one 1 MiB body plus a header).
    mib=$(kv requests <<<"$parsed")
    record "$round" big "$key" cpu_us_per_mb "$(cpu_per_unit "$before" "$after" "$mib" 1e6)"
}

# 5. many idle keep-alive connections: memory per connection, and whether other clients stay fast.
load_idle() {
    idle_load "$1" idle "$2" "${SRV_PID[$2]}" "${SRV_PORT[$2]}" "$PROBE_SECS" "http://127.0.0.1:${SRV_PORT[$2]}/hello.txt" \
        "$IDLE_BIN" 127.0.0.1 "${SRV_PORT[$2]}" /hello.txt "$IDLE_CONNS" "$IDLE_HOLD_MAX"
}

# idle_load ROUND LOAD KEY PID PORT PROBE_SECS PROBE_URL CLIENT...: the idle load's procedure with any idle
# client that prints READY and DONE lines as lib/idle_conns.c does (the TLS one too), against
# the server whose process tree is PID; PORT is where it holds the connections; recorded as KEY.
idle_load() {
    local round="$1" load="$2" key="$3" pid="$4" port="$5" probe_secs="$6" url="$7" client_cmd=("${@:8}")
    local out probe0 probe1 rss0 rss1 uss0 uss1 cpu0 cpu1 ready="" cpid held t parsed done_line
    out=$(raw_log "$round" "$load" "$key")
    probe0=$(raw_log "$round" "$load-probe-before" "$key")
    probe1=$(raw_log "$round" "$load-probe-during" "$key")

    # Probe without idle connections first: the reference for "stays fast".
    run_wrk_url "$probe0" "$probe_secs" "$PROBE_C" "$url"
    record "$round" "$load" "$key" probe_before_p99_ms "$(parse wrk "$probe0" | kv p99_ms)"

    rss0=$(proctree rss "$pid")
    uss0=$(proctree private "$pid")
    cpu0=$(server_cpu "$pid")
    : >"$out"  # exists before the background client opens it: the READY poll reads it
    taskset -c "$CLIENT_CPUS" timeout --kill-after=5 $((IDLE_HOLD_MAX + 150)) \
        "${client_cmd[@]}" >"$out" 2>&1 &
    cpid=$!
    BG_PIDS+=("$cpid")
    for ((t = 0; t < 1500; t++)); do  # setup is bounded by the client itself (120 s)
        ready=$(grep -m1 '^READY' "$out" || true)
        [[ -n "$ready" ]] && break
        kill -0 "$cpid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z "$ready" ]]; then
        warn "idle client for $key never got ready: $(tail -2 "$out" | tr '\n' ' ')"
        kill -TERM "$cpid" 2>/dev/null || true
        wait "$cpid" 2>/dev/null || true
        return 0
    fi
    cpu1=$(server_cpu "$pid")
    sleep 0.5
    rss1=$(proctree rss "$pid")
    uss1=$(proctree private "$pid")
    held=$(proctree conns "$pid" "$port" | awk '{ s += $2 } END { print s + 0 }')

    run_wrk_url "$probe1" "$probe_secs" "$PROBE_C" "$url"
    kill -TERM "$cpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
    done_line=$(grep -m1 '^DONE' "$out" || true)

    local ok
    ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$ready")
    record "$round" "$load" "$key" conns_ok "$ok"
    record "$round" "$load" "$key" conns_failed \
        "$(($(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$ready") + $(sed -n 's/.* timeouts=\([0-9]*\).*/\1/p' <<<"$ready")))"
    record "$round" "$load" "$key" conns_held_server "$held"
    record "$round" "$load" "$key" conns_alive_end "$(sed -n 's/.*alive=\([0-9]*\).*/\1/p' <<<"$done_line")"
    record "$round" "$load" "$key" setup_s "$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$ready")"
    # Server CPU per connection set up (accept, one request, keep it): µs.
    record "$round" "$load" "$key" cpu_us_per_conn "$(cpu_per_unit "$cpu0" "$cpu1" "$ok" 1e6)"
    record "$round" "$load" "$key" rss_before_kib "${rss0%% *}"
    record "$round" "$load" "$key" rss_after_kib "${rss1%% *}"
    record "$round" "$load" "$key" rss_workers_before "${rss0#* }"
    # Per worker *process* (h2o's workers are threads of one process).
    record "$round" "$load" "$key" rss_per_worker_kib \
        "$(awk -v t="${rss0%% *}" -v list="${rss0#* }" 'BEGIN { n = split(list, w, " "); printf "%.0f\n", (n > 0 ? t / n : t) }')"
    # Per connection the server really holds (gunicorn's sync workers hold none: nan).
    record "$round" "$load" "$key" kib_per_conn \
        "$(awk -v a="${rss1%% *}" -v b="${rss0%% *}" -v n="$held" 'BEGIN { if (n > 0) printf "%.2f\n", (a - b) / n; else print "nan" }')"
    # The same from the private memory (USS) of the server's processes.
    record "$round" "$load" "$key" private_kib_per_conn \
        "$(awk -v a="${uss1%% *}" -v b="${uss0%% *}" -v n="$held" 'BEGIN { if (n > 0) printf "%.2f\n", (a - b) / n; else print "nan" }')"
    parsed=$(parse wrk "$probe1")
    if [[ "$(kv requests <<<"$parsed")" == 0 ]]; then
        warn "$key answered none of the probe's requests while holding $ok idle connections (a connection limit? see README)"
    fi
    record "$round" "$load" "$key" probe_requests "$(kv requests <<<"$parsed")"
    record "$round" "$load" "$key" probe_rps "$(kv rps <<<"$parsed")"
    record "$round" "$load" "$key" probe_p99_ms "$(kv p99_ms <<<"$parsed")"
    record "$round" "$load" "$key" probe_errors "$(kv errors <<<"$parsed")"
}

# 6. reload under load: graceful reloads while wrk runs; every failed request counts.
load_reload() {
    local round="$1" key="$2" port="${SRV_PORT[$2]}" out wpid i done=0 parsed serving=1 before after
    local -A seen=()
    server_can_reload "$key" || return 0
    out=$(raw_log "$round" reload "$key")
    before=$(server_cpu "${SRV_PID[$key]}")
    for p in $(proctree workers "${SRV_PID[$key]}"); do seen[$p]=old; done
    run_wrk "$out" "$RELOAD_SECS" "$WRK_C" /hello.txt "$port" &
    wpid=$!
    BG_PIDS+=("$wpid")
    sleep 1
    for ((i = 0; i < RELOADS; i++)); do
        if server_reload "$key"; then done=$((done + 1)); else warn "reload $i of $key failed"; fi
        sleep "$RELOAD_GAP"
        # Worker pids seen after each reload: evidence that new workers really took over.
        for p in $(proctree workers "${SRV_PID[$key]}"); do seen[$p]=${seen[$p]:-new}; done
    done
    wait "$wpid" || true
    after=$(server_cpu "${SRV_PID[$key]}")  # reaped old workers included (cutime/cstime)
    # Still serving after all that? (A server that died would also show as socket errors.)
    if ! wait_http "http://127.0.0.1:$port/hello.txt" "Hello, world!" "${SRV_PID[$key]}" 10; then
        serving=0
        warn "$key does not serve any more after $done reloads"
    fi
    parsed=$(parse wrk "$out")
    record_kv "$round" reload "$key" <<<"$parsed"
    record "$round" reload "$key" reloads "$done"
    record "$round" reload "$key" new_worker_pids "$(printf '%s\n' "${seen[@]}" | grep -c new || true)"
    record "$round" reload "$key" serving_after "$serving"
    record "$round" reload "$key" cpu_us_per_req "$(cpu_per_unit "$before" "$after" "$(kv requests <<<"$parsed")" 1e6)"
    # Let draining old workers finish so they do not eat into the next load.
    sleep 1
}

# 7. spread of connections over 2 workers of a fresh instance, under keep-alive wrk -c50.
load_spread() {
    local round="$1" key="$2" name="${SRV_NAME[$2]}" k2="$2-w2" port out wpid before after conns cpu0 cpu1 parsed
    port=${SERVER_BASE_PORT[$name]}
    port=$((port + 100))
    out=$(raw_log "$round" spread "$key")
    MINID_CONTROL_SOCKET="$BENCH_TMP/srv/$k2/control.sock" \
        server_start "$k2" "$name" 2 "$port" "$SPREAD_CPUS" || {
        warn "spread: $name with 2 workers did not start"
        return 0
    }
    before=$(proctree cpu-each "${SRV_PID[$k2]}")
    cpu0=$(server_cpu "${SRV_PID[$k2]}")
    run_wrk "$out" "$SPREAD_SECS" "$WRK_C" /hello.txt "$port" &
    wpid=$!
    BG_PIDS+=("$wpid")
    sleep "$(awk -v s="$SPREAD_SECS" 'BEGIN { print s / 2 }')"
    conns=$(proctree conns "${SRV_PID[$k2]}" "$port")
    wait "$wpid" || true
    after=$(proctree cpu-each "${SRV_PID[$k2]}")
    cpu1=$(server_cpu "${SRV_PID[$k2]}")
    if [[ "$name" == minid* ]]; then minid_worker_requests "$k2" "$round" "$key"; fi
    server_stop "$k2"

    # Per-worker CPU seconds during the load, and each one's share of the total.
    local shares
    # Threads or processes with under 0.5% of the time (h2o's housekeeping threads) are left out.
    shares=$(join <(sort <<<"$before") <(sort <<<"$after") |
        awk '{ d[$1] = $3 - $2; t += $3 - $2 } END {
            for (p in d) if (t > 0 && d[p] > 0.005 * t) printf "%.0f\n", 100 * d[p] / t }' |
        sort -rn | paste -sd/)
    [[ -n "$shares" ]] || shares="-"
    record "$round" spread "$key" cpu_split_pct "$shares"
    record "$round" spread "$key" cpu_max_share_pct "${shares%%/*}"
    if [[ "$name" != h2o ]]; then  # h2o's workers are threads of one process: no per-process split
        record "$round" spread "$key" conn_split "$(awk '{ print $2 }' <<<"$conns" | sort -rn | paste -sd/)"
        record "$round" spread "$key" conn_max_share_pct \
            "$(awk '{ t += $2; if ($2 > m) m = $2 } END { if (t > 0) printf "%.0f\n", 100 * m / t; else print "nan" }' <<<"$conns")"
    fi
    parsed=$(parse wrk "$out")
    record_kv "$round" spread "$key" < <(grep -E '^(rps|p99_ms|errors) ' <<<"$parsed")
    record "$round" spread "$key" cpu_us_per_req "$(cpu_per_unit "$cpu0" "$cpu1" "$(kv requests <<<"$parsed")" 1e6)"
}

# 8. keep-alive with a fresh instance held to a CPU quota (CAPPED_QUOTA_US per 100 ms, half a
# CPU by default), so that the server, not the client on the other core, limits the rate: the
# figure is requests per half CPU-second of the server. "throttled" is the share of the quota
# periods in which the server used up its quota; well below 100% the client was the limit.
load_capped() {
    local round="$1" key="$2" name="${SRV_NAME[$2]}" k2="$2-capped" port out cg p0 t0 p1 t1 pct cpu0 cpu1 parsed
    port=$((${SERVER_BASE_PORT[$name]} + 200))
    out=$(raw_log "$round" capped "$key")
    cg=$(cg_make "$CG_BASE" "minid-bench-$$-$k2" "$CAPPED_QUOTA_US" 100000) || {
        warn "capped: cannot make a cgroup for $key under $CG_BASE"
        return 0
    }
    if ! SRV_CGROUP="$cg" server_start "$k2" "$name" "$WORKERS" "$port"; then
        warn "capped: $name did not start in $cg"
        cg_remove "$cg"
        return 0
    fi
    read -r p0 t0 < <(cg_stat "$cg")
    cpu0=$(server_cpu "${SRV_PID[$k2]}")
    run_wrk "$out" "$WRK_SECS" "$WRK_C" /hello.txt "$port"
    cpu1=$(server_cpu "${SRV_PID[$k2]}")
    read -r p1 t1 < <(cg_stat "$cg")
    server_stop "$k2"
    cg_remove "$cg"
    parsed=$(parse wrk "$out")
    record_kv "$round" capped "$key" < <(grep -E '^(rps|p50_ms|p99_ms|max_ms|errors) ' <<<"$parsed")
    record "$round" capped "$key" cpu_us_per_req "$(cpu_per_unit "$cpu0" "$cpu1" "$(kv requests <<<"$parsed")" 1e6)"
    pct=$(awk -v p=$((p1 - p0)) -v t=$((t1 - t0)) 'BEGIN { if (p > 0) printf "%.0f\n", 100 * t / p; else print "nan" }')
    record "$round" capped "$key" throttled_pct "$pct"
    if [[ "$pct" == nan ]] || ((pct < 80)); then
        warn "capped: $key ran out of its quota in only ${pct}% of the periods: the client, not the server, may have set its rate"
    fi
}

# minid counts requests and connections per worker: read them from minidctl status --json, or
# from the control socket directly when minidctl is not built (yet).
minid_worker_requests() {
    local round="$2" key="$3" sock="$BENCH_TMP/srv/$1/control.sock" parsed=""
    [[ -S "$sock" ]] || return 0
    if [[ -x "$MINIDCTL_BIN" ]]; then
        parsed=$("$MINIDCTL_BIN" --control "$sock" status --json 2>/dev/null |
            "$PY" "$BENCH_LIB/minid_status.py" --json - 2>/dev/null) || parsed=""
    fi
    if [[ -z "$parsed" ]]; then
        parsed=$("$PY" "$BENCH_LIB/minid_status.py" --socket "$sock" 2>&1) ||
            { warn "minid status over $sock failed: $parsed"; return 0; }
    fi
    record_kv "$round" spread "$key" <<<"$parsed"
}
