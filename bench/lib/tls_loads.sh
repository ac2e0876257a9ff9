# The TLS loads of bench/run.sh, one function each (load_tls-NAME ROUND KEY), against the TLS
# instance KEY-tls of each server (its config plus a TLS listener with the ECDSA P-256
# certificate, started with the main instance), or a fresh RSA-2048 instance KEY-rsa for
# tls-full-rsa; figures are recorded under KEY. Sourced by run.sh after loads.sh, whose helpers
# they use. Sizes: TLS_SECS (wrk loads), STIME_SECS (handshake loads), TLS_IDLE_CONNS.

TLS_LOADS=(tls-keepalive tls-full tls-full-rsa tls-resumed tls-big tls-idle)

tls_url() { echo "https://127.0.0.1:${SRV_TLS_PORTS[$1-tls]}$2"; }

# tls_start NAME KEY CERT PLAIN_OFFSET TLS_OFFSET: an instance of server NAME with the CERT
# (ecdsa, rsa) certificate on its base port + TLS_OFFSET (plain HTTP on + PLAIN_OFFSET); fails,
# with nothing left running, if it does not serve hello.txt over TLS.
tls_start() {
    local name="$1" key="$2" base=${SERVER_BASE_PORT[$1]}
    if SRV_TLS_PORT=$((base + $5)) SRV_TLS_CERT="$TLS_DIR/$3.pem" SRV_TLS_KEY="$TLS_DIR/$3.key" \
        server_start "$key" "$name" "$WORKERS" $((base + $4)) && tls_ready "$key"; then
        return 0
    fi
    server_stop "$key"
    unset "SRV_TLS_PORTS[$key]"
    return 1
}

# tls_ready KEY: the instance serves hello.txt over TLS (else its TLS loads are skipped).
tls_ready() {
    local port="${SRV_TLS_PORTS[$1]:-}" deadline=$((SECONDS + 10))
    [[ -n "$port" ]] || return 1
    while ((SECONDS < deadline)); do
        [[ "$(curl -sk --max-time 1 "https://127.0.0.1:$port/hello.txt" 2>/dev/null)" == "Hello, world!" ]] && return 0
        sleep 0.2
    done
    return 1
}

# Skips a TLS load for a server without a working TLS listener (warned once at start).
tls_has() { [[ -n "${SRV_PID[$1-tls]:-}" && -n "${SRV_TLS_PORTS[$1-tls]:-}" ]]; }

# wrk over https: the keep-alive requests (tls-keepalive) and 1 MiB (tls-big). wrk makes one full
# handshake per connection, at its start: the figures are the steady state of TLS records.
tls_wrk_load() {
    local round="$1" load="$2" key="$3" path="$4" conns="$5" unit="$6" pid="${SRV_PID[$3-tls]:-}" out before after parsed
    tls_has "$key" || return 0
    out=$(raw_log "$round" "$load" "$key")
    before=$(server_cpu "$pid")
    run_wrk_url "$out" "$TLS_SECS" "$conns" "$(tls_url "$key" "$path")"
    after=$(server_cpu "$pid")
    parsed=$(parse wrk "$out")
    record_kv "$round" "$load" "$key" <<<"$parsed"
    record "$round" "$load" "$key" "$unit" "$(cpu_per_unit "$before" "$after" "$(kv requests <<<"$parsed")" 1e6)"
}
load_tls-keepalive() { tls_wrk_load "$1" tls-keepalive "$2" /hello.txt "$WRK_C" cpu_us_per_req; }
load_tls-big() { tls_wrk_load "$1" tls-big "$2" /1m.bin "$BIG_C" cpu_us_per_mb; }

# s_time_load ROUND LOAD KEY PID PORT MODE: `openssl s_time -new` (a full handshake per
# connection) or `-reuse` (every connection after the first resumes the first one's session),
# one GET of hello.txt per connection, one connection at a time for STIME_SECS. s_time prints
# one character per connection: '*' for a full handshake, 'r' for a resumed one; those are
# counted, so the resumed share is the client's own observation, not an assumption.
s_time_load() {
    local round="$1" load="$2" key="$3" pid="$4" port="$5" mode="$6" out before after t0 t1 full resumed n
    out=$(raw_log "$round" "$load" "$key")
    before=$(server_cpu "$pid")
    t0=$(date +%s.%N)
    client $((STIME_SECS + 30)) openssl s_time -connect "127.0.0.1:$port" "$mode" -time "$STIME_SECS" \
        -www /hello.txt >"$out" 2>&1 || true
    t1=$(date +%s.%N)
    after=$(server_cpu "$pid")
    full=$(grep -E '^[*r]+$' "$out" | tr -cd '*' | wc -c)
    resumed=$(grep -E '^[*r]+$' "$out" | tr -cd 'r' | wc -c)
    n=$(sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' "$out" | tail -n1)
    n=${n:-0}
    if ((n == 0)); then
        warn "$load on $key: openssl s_time made no connection: $(tail -2 "$out" | tr '\n' ' ')"
        return 0
    fi
    if ((full + resumed != n)); then
        warn "$load on $key: s_time reported $n connections but marked $full full + $resumed resumed"
    fi
    record "$round" "$load" "$key" handshakes "$n"
    record "$round" "$load" "$key" resumed_pct "$(awk -v r="$resumed" -v n="$n" 'BEGIN { printf "%.1f\n", 100 * r / n }')"
    record "$round" "$load" "$key" rps "$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", n / (b - a) }')"
    record "$round" "$load" "$key" cpu_us_per_hs "$(cpu_per_unit "$before" "$after" "$n" 1e6)"
    if [[ "$mode" == -reuse ]] && ((resumed * 100 < n * 95)); then
        warn "$load on $key: only $resumed of $n connections resumed their session"
    fi
    if [[ "$mode" == -new ]] && ((resumed > 0)); then
        warn "$load on $key: $resumed of $n connections resumed (a full handshake was wanted)"
    fi
}
load_tls-full() {
    tls_has "$2" || return 0
    s_time_load "$1" tls-full "$2" "${SRV_PID[$2-tls]}" "${SRV_TLS_PORTS[$2-tls]}" -new
}
load_tls-resumed() {
    tls_has "$2" || return 0
    s_time_load "$1" tls-resumed "$2" "${SRV_PID[$2-tls]}" "${SRV_TLS_PORTS[$2-tls]}" -reuse
}

# Full handshakes with an RSA-2048 certificate: a fresh instance of the server (same config,
# the RSA certificate and key), started for the load and stopped after it.
load_tls-full-rsa() {
    local round="$1" key="$2" name="${SRV_NAME[$2]}" k2="$2-rsa"
    tls_has "$key" || return 0
    if ! tls_start "$name" "$k2" rsa 400 500; then
        warn "tls-full-rsa: $name with the RSA certificate did not serve TLS"
        return 0
    fi
    # One connection first: lazily built state (the RSA key's blinding, the file cache).
    client 10 curl -sk -o /dev/null "https://127.0.0.1:${SRV_TLS_PORTS[$k2]}/hello.txt" || true
    s_time_load "$round" tls-full-rsa "$key" "${SRV_PID[$k2]}" "${SRV_TLS_PORTS[$k2]}" -new
    server_stop "$k2"
}

# TLS_IDLE_CONNS idle TLS connections (lib/idle_tls.py: handshake, one request, then idle):
# memory per connection as the idle load measures it, the probe over TLS too. On a fresh
# instance, started for the load and stopped after it: on the instance that serves every round,
# round 2's connections reused the heap round 1's had freed, and RSS barely moved (0.1 KiB).
load_tls-idle() {
    local round="$1" key="$2" name="${SRV_NAME[$2]}" k2="$2-idle"
    tls_has "$key" || return 0
    if ! tls_start "$name" "$k2" ecdsa 600 650; then
        warn "tls-idle: a fresh $name instance did not serve TLS"
        return 0
    fi
    local port="${SRV_TLS_PORTS[$k2]}"
    idle_load "$round" tls-idle "$key" "${SRV_PID[$k2]}" "$port" "$TLS_PROBE_SECS" \
        "https://127.0.0.1:$port/hello.txt" \
        "$PY" "$BENCH_LIB/idle_tls.py" 127.0.0.1 "$port" /hello.txt "$TLS_IDLE_CONNS" "$IDLE_HOLD_MAX"
    server_stop "$k2"
}
