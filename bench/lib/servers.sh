# Every server under test: its config file, how to start it pinned, how to reload it gracefully
# and how to stop it. Sourced by run.sh. Each running instance is a KEY (server name, or
# name-w2 for the two-worker instance) with its pid, port and config in the SRV_* arrays.

# shellcheck disable=SC2034 # SRV_PORT is read by loads.sh
declare -A SRV_PID=() SRV_PORT=() SRV_NAME=() SRV_CONF=() SRV_DIR=() SRV_TLS_PORTS=()

# Base port per server; the 2-worker instances use base + 100, the capped ones base + 200. With
# the TLS loads, an instance KEY-tls listens on base + 300 and for TLS on + 350 (ECDSA P-256),
# and the RSA-2048 instance of the tls-full-rsa load on base + 400 (plain) and base + 500 (TLS).
# shellcheck disable=SC2034 # read by run.sh and loads.sh
declare -A SERVER_BASE_PORT=(
    [minid]=18080 [nginx]=18081 [h2o]=18082 [lighttpd]=18083 [waitress]=18084 [gunicorn]=18085
    [nginx-deferred]=18086 [minid-base]=18087 [minid-quickack]=18088 [minid-poll]=18089
    [gunicorn-gevent]=18090 [py-sequential]=18091 [py-fork]=18092 [py-forkingserver]=18093
    [py-thread]=18094 [py-threadingserver]=18095 [py-processpool]=18096 [py-threadpool]=18097
    [py-selectors]=18098 [py-asyncio]=18099
)

# The Python designs of the posts' table (bench/posts/), server name -> script.
declare -A POSTS_SCRIPT=(
    [py-sequential]=sequential.py [py-fork]=fork_per_connection.py
    [py-forkingserver]=forking_tcpserver.py [py-thread]=thread_per_connection.py
    [py-threadingserver]=threading_tcpserver.py [py-processpool]=process_pool.py
    [py-threadpool]=thread_pool.py [py-selectors]=nonblocking_selectors.py
    [py-asyncio]=asyncio_streams.py
)

# Servers that are minid with another config or binary: they share minid's start/reload.
is_minid() { [[ "$1" == minid || "$1" == minid-* ]]; }

# Connections each instance must accept: the idle load's connections plus its probe load, with
# room to spare: nginx starts closing idle keep-alive connections once fewer than 1/16 of its
# worker_connections are free.
server_max_conns() { echo $((IDLE_CONNS * 5 / 4 + 512)); }

# TLS, when an instance is started with SRV_TLS_PORT (and SRV_TLS_CERT, SRV_TLS_KEY): every
# server as its experts would set it up, Mozilla's "intermediate" profile (v5/v6): TLS 1.2 and
# 1.3, these ECDHE+AEAD suites for 1.2 in this order (minid's default list), the client's
# preference, groups X25519:P-256:P-384, session tickets on (each server's own ticket keys).
TLS_CIPHERS=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305

write_config_minid() {
    local dir="$1" port="$2" workers="$3"
    cat >"$dir/minid.conf" <<CONF
# minid under bench/run.sh
[server]
listen = 127.0.0.1:$port
workers = $workers
access_log = off
control_socket = ${MINID_CONTROL_SOCKET:-off}
log_level = warn
${SRV_TLS_PORT:+listen_tls = 127.0.0.1:$SRV_TLS_PORT}
${MINID_EXTRA_SERVER:-}
[http]
root = $DOCROOT
keepalive_timeout = 120s
max_connections = $(server_max_conns)
CONF
    if [[ -n "${SRV_TLS_PORT:-}" ]]; then
        # minid's defaults are the profile above (tls_protocols, tls_ciphers, groups, tickets
        # rotated by the master); listen_tls is in [server] above.
        cat >>"$dir/minid.conf" <<CONF
tls_certificate = $SRV_TLS_CERT
tls_key = $SRV_TLS_KEY
CONF
    fi
    if [[ -n "${MINID_EXTRA_HTTP:-}" ]]; then
        printf '%s\n' "$MINID_EXTRA_HTTP" >>"$dir/minid.conf"
    fi
    echo "$dir/minid.conf"
}

# minid with busy_poll = 50us: a worker polls briefly after a short gap before it sleeps (the
# opt-in of minid.conf(5)), where by default it always sleeps when idle. Not in the default list.
write_config_minid-poll() { MINID_EXTRA_SERVER="busy_poll = 50us" write_config_minid "$@"; }

# minid-base: another minid binary (--minid-base PATH, e.g. built from an older commit) with the
# same config as minid, for paired before/after ratios within one run. MINID_BASE_EXTRA_SERVER
# adds [server] lines for it alone, e.g. "busy_poll = 0" to hold an older binary, whose default
# was to poll, to today's default.
write_config_minid-base() { MINID_EXTRA_SERVER="${MINID_BASE_EXTRA_SERVER:-}" write_config_minid "$@"; }

# minid with delayed_ack = off: the kernel ACKs a new connection's first request on its own, as
# it does by default, instead of leaving the ACK to the response. Not in the default list.
write_config_minid-quickack() { MINID_EXTRA_SERVER="delayed_ack = off" write_config_minid "$@"; }

write_config_nginx() {
    local dir="$1" port="$2" workers="$3"
    cat >"$dir/nginx.conf" <<CONF
# nginx under bench/run.sh: foreground master, no access log, tuned for static files as nginx's
# docs describe: sendfile + tcp_nopush, and open_file_cache (descriptors, sizes and lookups of
# files kept open, revalidated every 60 s; errors such as 404 cached too).
daemon off;
master_process on;
worker_processes $workers;
worker_rlimit_nofile $NOFILE;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $(server_max_conns); }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    open_file_cache_errors on;
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    types { text/plain txt; application/octet-stream bin; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$port${NGINX_LISTEN_OPTS:-};
        root $DOCROOT;
    }
$(nginx_tls_server)
}
CONF
    echo "$dir/nginx.conf"
}

# nginx's TLS server (Mozilla's nginx config, intermediate): tickets on, a shared session cache
# as Mozilla sets it (clients without tickets), no OCSP stapling (a self-signed certificate).
nginx_tls_server() {
    [[ -n "${SRV_TLS_PORT:-}" ]] || return 0
    cat <<CONF
    server {
        listen 127.0.0.1:$SRV_TLS_PORT ssl${NGINX_LISTEN_OPTS:-};
        root $DOCROOT;
        ssl_certificate $SRV_TLS_CERT;
        ssl_certificate_key $SRV_TLS_KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers $TLS_CIPHERS;
        ssl_prefer_server_ciphers off;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        ssl_session_timeout 1d;
        ssl_session_cache shared:SSL:10m;
        ssl_session_tickets on;
    }
CONF
}

# nginx with "listen ... deferred" (TCP_DEFER_ACCEPT, which minid sets by default): the fair
# comparison for one connection per request. Not in the default list.
write_config_nginx-deferred() { NGINX_LISTEN_OPTS=" deferred" write_config_nginx "$@"; }

write_config_h2o() {
    local dir="$1" port="$2" workers="$3"
    cat >"$dir/h2o.conf" <<CONF
# h2o under bench/run.sh: no access-log directive means no access log; one thread per "worker".
# h2o 2.2 keeps its open-file cache on with no directive to tune it (lib/common/filecache.c,
# capacity 2 x http2-max-concurrent-requests-per-connection per thread, purged once per event-loop
# iteration); file.send-compressed stays off (no compressed variants in the docroot).
listen:
  host: 127.0.0.1
  port: $port
num-threads: $workers
max-connections: $(server_max_conns)
http1-request-timeout: 120
pid-file: $dir/h2o.pid
error-log: $dir/error.log
hosts:
  default:
    paths:
      /:
        file.dir: $DOCROOT
CONF
    if [[ -n "${SRV_TLS_PORT:-}" ]]; then
        # A second listen (h2o's YAML takes the key twice): TLS with the profile above; session
        # resumption "all" (its default: cache and tickets, ticket keys made by h2o itself); no
        # OCSP stapling (self-signed: its fetch-ocsp-response helper would only fail, as a child
        # counted in the server's CPU time).
        cat >>"$dir/h2o.conf" <<CONF
listen:
  host: 127.0.0.1
  port: $SRV_TLS_PORT
  ssl:
    certificate-file: $SRV_TLS_CERT
    key-file: $SRV_TLS_KEY
    minimum-version: TLSv1.2
    cipher-suite: $TLS_CIPHERS
    cipher-preference: client
    ocsp-update-interval: 0
ssl-session-resumption:
  mode: all
CONF
    fi
    echo "$dir/h2o.conf"
}

write_config_lighttpd() {
    local dir="$1" port="$2" workers="$3" max_worker=0
    # max-worker = 0 is lighttpd's single-process mode; N > 1 forks N workers under a watcher.
    ((workers > 1)) && max_worker=$workers
    cat >"$dir/lighttpd.conf" <<CONF
# lighttpd under bench/run.sh: no access log (mod_accesslog not loaded). stat() results are
# cached until inotify reports a change ("inotify", the same engine as "fam" on Linux; "simple",
# the default, stats a file again every second).
server.stat-cache-engine = "inotify"
server.document-root = "$DOCROOT"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$dir/error.log"
server.max-worker = $max_worker
server.max-fds = $NOFILE
server.max-connections = $(server_max_conns)
server.max-keep-alive-requests = 65535
server.max-keep-alive-idle = 120
server.max-read-idle = 120
mimetype.assign = ( ".txt" => "text/plain", ".bin" => "application/octet-stream" )
CONF
    if [[ -n "${SRV_TLS_PORT:-}" ]]; then
        # mod_openssl (Debian: lighttpd-mod-openssl) on a second socket; session tickets are
        # on by default (keys made and rotated by lighttpd).
        cat >>"$dir/lighttpd.conf" <<CONF
server.modules += ( "mod_openssl" )
\$SERVER["socket"] == "127.0.0.1:$SRV_TLS_PORT" {
    ssl.engine = "enable"
    ssl.pemfile = "$SRV_TLS_CERT"
    ssl.privkey = "$SRV_TLS_KEY"
    ssl.openssl.ssl-conf-cmd = ( "MinProtocol" => "TLSv1.2", "CipherString" => "$TLS_CIPHERS",
                                 "Options" => "-ServerPreference", "Groups" => "X25519:P-256:P-384" )
}
CONF
    fi
    echo "$dir/lighttpd.conf"
}

# waitress and gunicorn serve the same files through bench/lib/wsgi_static.py; the Python
# designs of the posts' table are scripts with a command line only.
write_config_waitress() { echo "-"; }
write_config_gunicorn() { echo "-"; }
write_config_gunicorn-gevent() { echo "-"; }
for _py in "${!POSTS_SCRIPT[@]}"; do eval "write_config_$_py() { echo -; }"; done
unset _py

# The command line that runs the server in the foreground.
server_command() {
    local name="$1" conf="$2" port="$3" workers="$4" dir="$5"
    case "$name" in
        minid-base) echo "$MINID_BASE_BIN -c $conf" ;;
        minid | minid-*) echo "$MINID_BIN -c $conf" ;;
        nginx | nginx-deferred) echo "nginx -p $dir/ -c $conf" ;;
        h2o) echo "h2o -m master -c $conf" ;;
        lighttpd) echo "lighttpd -D -f $conf" ;;
        waitress) echo "$PY -m waitress --listen=127.0.0.1:$port --threads=4 --asyncore-use-poll wsgi_static:app" ;;
        gunicorn) echo "$PY -m gunicorn --workers $workers --worker-class sync --bind 127.0.0.1:$port --log-level warning wsgi_static:app" ;;
        gunicorn-gevent) echo "$PY -m gunicorn --workers $workers --worker-class gevent --bind 127.0.0.1:$port --log-level warning wsgi_static:app" ;;
        py-processpool | py-threadpool) echo "$PY $BENCH_DIR/posts/${POSTS_SCRIPT[$name]} --port $port --root $DOCROOT --workers $workers" ;;
        py-*) echo "$PY $BENCH_DIR/posts/${POSTS_SCRIPT[$name]} --port $port --root $DOCROOT" ;;
    esac
}

server_version() {
    case "$1" in
        minid-base) "$MINID_BASE_BIN" --version 2>&1 | head -1 || true ;;
        minid | minid-*) "$MINID_BIN" --version 2>&1 | head -1 || true ;;
        nginx | nginx-deferred) nginx -v 2>&1 | head -1 ;;
        h2o) h2o --version 2>&1 | head -1 ;;
        lighttpd) lighttpd -v 2>&1 | head -1 ;;
        waitress) "$PY" -c 'import importlib.metadata as m; print("waitress", m.version("waitress"))' 2>/dev/null ;;
        gunicorn | gunicorn-gevent) "$PY" -c 'import gunicorn; print("gunicorn", gunicorn.__version__)' 2>&1 ;;
        py-*) "$PY" --version 2>&1 ;;
    esac
}

server_available() {
    case "$1" in
        minid-base) [[ -n "${MINID_BASE_BIN:-}" && -x "$MINID_BASE_BIN" ]] ;;
        minid | minid-poll | minid-quickack) [[ -x "$MINID_BIN" ]] ;;
        nginx | h2o | lighttpd) command -v "$1" >/dev/null ;;
        nginx-deferred) command -v nginx >/dev/null ;;
        waitress | gunicorn) "$PY" -c "import $1" 2>/dev/null ;;
        gunicorn-gevent) "$PY" -c "import gunicorn, gevent" 2>/dev/null ;;
        py-*) [[ -n "${POSTS_SCRIPT[$1]:-}" ]] ;;
        *) return 1 ;;
    esac
}

# server_start KEY NAME WORKERS PORT: starts one instance pinned to SERVER_CPUS; fails (and
# leaves nothing running) when it does not serve hello.txt within 10 s.
server_start() {
    local key="$1" name="$2" workers="$3" port="$4" cpus="${5:-$SERVER_CPUS}"
    local dir="$BENCH_TMP/srv/$key" conf cmd pid
    mkdir -p "$dir"
    conf=$("write_config_$name" "$dir" "$port" "$workers")
    cmd=$(server_command "$name" "$conf" "$port" "$workers" "$dir")
    log "start $key: taskset -c $cpus $cmd"
    # Own session: lighttpd's master signals its workers with kill(0, ...), which would otherwise
    # hit this script too. (setsid does not fork here: a background subshell is no group leader,
    # so $! stays the server's pid.)
    # With SRV_CGROUP set, the server starts inside that cgroup (the capped load): the subshell
    # moves itself there before it becomes the server, so every process of it is counted.
    # shellcheck disable=SC2086 # the command line is a word list built above
    (
        if [[ -n "${SRV_CGROUP:-}" ]]; then echo "$BASHPID" >"$SRV_CGROUP/cgroup.procs" || exit 97; fi
        cd "$BENCH_LIB" && BENCH_DOCROOT="$DOCROOT" exec setsid taskset -c "$cpus" $cmd
    ) </dev/null >>"$dir/stderr.log" 2>&1 &
    pid=$!
    SRV_PID[$key]=$pid SRV_PORT[$key]=$port SRV_NAME[$key]=$name SRV_CONF[$key]=$conf SRV_DIR[$key]=$dir
    SRV_TLS_PORTS[$key]=${SRV_TLS_PORT:-}
    if ! wait_http "http://127.0.0.1:$port/hello.txt" "Hello, world!" "$pid" 10; then
        if kill -0 "$pid" 2>/dev/null; then
            warn "$key did not serve hello.txt on port $port within 10 s; last log lines:"
        else
            local rc=0
            wait "$pid" || rc=$?
            warn "$key exited (status $rc) without serving hello.txt on port $port; last log lines:"
        fi
        tail -n 5 "$dir/stderr.log" "$dir/error.log" 2>/dev/null | sed 's/^/    /' >&2 || true
        server_stop "$key"
        return 1
    fi
    # The report shows each server's config: keep a copy of the main instance's.
    if [[ ("$key" == "$name" || "$key" == "$name-tls" || "$key" == "$name-rsa") && -n "${LOG_DIR:-}" ]]; then
        if [[ "$conf" != - ]]; then cp "$conf" "$LOG_DIR/config-$key.${conf##*.}"; fi
        printf '%s\ttaskset -c %s %s\n' "$key" "$cpus" "$cmd" >>"$LOG_DIR/commands.tsv"
    fi
    # Workers of prefork servers appear a moment after the master answers; let them settle.
    sleep 0.3
    return 0
}

# Graceful reload, the way an operator would do it for that server.
server_reload() {
    local key="$1" pid="${SRV_PID[$1]}"
    case "${SRV_NAME[$key]}" in
        minid | minid-* | gunicorn | gunicorn-gevent) kill -HUP "$pid" ;;
        h2o) kill -HUP "$pid" ;;  # the master mode's start_server: start new worker, retire old
        nginx | nginx-deferred) taskset -c "$SERVER_CPUS" nginx -p "${SRV_DIR[$key]}/" -c "${SRV_CONF[$key]}" -s reload \
            2>>"${SRV_DIR[$key]}/stderr.log" ;;
        lighttpd) kill -USR1 "$pid" ;;  # graceful restart (1.4.56+)
        *) return 1 ;;
    esac
}

server_can_reload() { [[ "${SRV_NAME[$1]}" != waitress && "${SRV_NAME[$1]}" != py-* ]]; }

# Graceful stop (TERM), then KILL for whatever of its tree is still there after 5 s.
server_stop() {
    local key="$1" pid="${SRV_PID[$1]:-}" p
    [[ -z "$pid" ]] && return 0
    local -A comm_of=()
    for p in $(proctree tree "$pid" 2>/dev/null || echo "$pid"); do
        comm_of[$p]=$(cat "/proc/$p/comm" 2>/dev/null || true)
    done
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_pid_gone "$pid" 5; then
        warn "$key (pid $pid) ignored SIGTERM for 5 s: killing it"
    fi
    # Leftovers of its tree (same pid and same command name: not a recycled pid).
    for p in "${!comm_of[@]}"; do
        if [[ -n "${comm_of[$p]}" && "$(cat "/proc/$p/comm" 2>/dev/null)" == "${comm_of[$p]}" ]]; then
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    wait "$pid" 2>/dev/null || true
    unset "SRV_PID[$key]"
}

server_stop_all() {
    local key
    for key in "${!SRV_PID[@]}"; do server_stop "$key"; done
}
