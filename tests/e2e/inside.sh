#!/bin/bash
# Runs inside the e2e container as systemd's job (systemd.run=/inside.sh, see run.sh): installs
# /debs/minid_*.deb and checks the package's whole life under a real systemd. Writes one
# "PASS: ..." or "FAIL: ..." line per check and a final "SUMMARY: N passed, M failed" line to
# stdout and /e2e-out/checks.log, the boot's journal to /e2e-out/journal.txt at the end, and exits
# non-zero when any check failed.
set -uo pipefail
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER='' SYSTEMD_COLORS=0

results=/e2e-out/checks.log
[ -d /e2e-out ] || results=/dev/null
passed=0
failed=0
say() { echo "$*" | tee -a "$results"; }
pass() { say "PASS: $*"; passed=$((passed + 1)); }
fail() { say "FAIL: $*"; failed=$((failed + 1)); }
# check DESCRIPTION COMMAND...: PASS when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
info() { say "  $*"; }
oneline() { tr -s '\n' ' ' <<<"$1" | sed 's/ $//'; }
ms() { date +%s%3N; }
prop() { systemctl show -P "$2" "$1"; }
finish() {
	[ "$results" = /dev/null ] || journalctl -b --no-pager -o short-monotonic >/e2e-out/journal.txt
	say "SUMMARY: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

# A loaded server answers 200; anything else (000 = no response) counts as a failure.
get() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
body() { curl -s --max-time 10 "$@"; }

stop_flag=/run/e2e-load-stop
# Two clients until $stop_flag exists: one reuses a keep-alive connection for 20 requests per
# curl run (what a draining worker must handle), one opens a new connection per request.
start_load() {
	rm -f "$stop_flag" /run/e2e-load-*.codes
	local args=() i
	for i in $(seq 20); do args+=(-o /dev/null http://127.0.0.1/hello.txt); done
	(while [ ! -e "$stop_flag" ]; do
		curl -s -w '%{http_code}\n' --max-time 10 "${args[@]}" >>/run/e2e-load-keepalive.codes
	done) &
	load_pids=($!)
	(while [ ! -e "$stop_flag" ]; do
		curl -s -w '%{http_code}\n' --max-time 10 -o /dev/null http://127.0.0.1/ >>/run/e2e-load-fresh.codes
	done) &
	load_pids+=($!)
}
# stop_load NAME: stops the clients and checks that they made requests and none failed.
stop_load() {
	touch "$stop_flag"
	wait "${load_pids[@]}"
	local f total bad
	for f in keepalive fresh; do
		total=$(wc -l </run/e2e-load-$f.codes)
		bad=$(grep -vc '^200$' /run/e2e-load-$f.codes)
		if [ "$total" -ge 20 ] && [ "$bad" -eq 0 ]; then
			pass "$1: $f client: $total requests, 0 failed"
		else
			fail "$1: $f client: $total requests, $bad failed ($(sort /run/e2e-load-$f.codes | uniq -c | tr '\n' ' '))"
		fi
	done
}
# wait_active UNIT: the first worker may answer before the master's READY=1 ("activating").
# shellcheck disable=SC2317 # called through check
wait_active() {
	for _ in $(seq 50); do
		systemctl -q is-active "$1" && return
		sleep 0.1
	done
	false
}
worker_pids() { pgrep -P "$(prop minid.service MainPID)" -x minid | sort; }

# shellcheck source=/dev/null
say "minid e2e on $(. /etc/os-release; echo "$PRETTY_NAME"), $(systemctl --version | head -n1)"
# systemd.run= boots into kernel-command-line.target, which stops at sysinit.target: bring up
# what a real system has (sockets.target with dbus.socket, timers, paths) first.
t=$(ms)
check "basic.target starts" systemctl start basic.target
info "basic.target took $(($(ms) - t)) ms"

# --- install ---------------------------------------------------------------------------------
deb=$(ls /debs/minid_*.deb)
t=$(ms)
check "install $(basename "$deb") with apt-get" apt-get install -y -q --no-install-recommends "$deb"
info "install took $(($(ms) - t)) ms"
[ -x /usr/sbin/minid ] || { fail "minid is not installed, nothing else to check"; finish; }

check "minid.socket is enabled" systemctl -q is-enabled minid.socket
check "minid.socket is active" systemctl -q is-active minid.socket
check "minid.socket listens on [::]:80" grep -q '\[::\]:80' <<<"$(prop minid.socket Listen)"
check "minid.service is not started by the installation" \
	test "$(prop minid.service ActiveState)" = inactive -a "$(prop minid.service ExecMainPID)" = 0
check "minid.service is not enabled on its own" \
	test "$(systemctl is-enabled minid.service 2>/dev/null)" = static
check "the system user minid exists" getent passwd minid
check "/etc/minid/minid.conf is a conffile" grep -q '^ /etc/minid/minid.conf ' <<<"$(dpkg-query -W -f='${Conffiles}\n' minid)"
check "minid -t accepts the shipped config" minid -t -c /etc/minid/minid.conf
# --man=no: the container has no man-db; the pages are checked on the host (mandoc, lintian).
verify=$(systemd-analyze verify --man=no /lib/systemd/system/minid.socket /lib/systemd/system/minid.service 2>&1)
check "systemd-analyze verify finds nothing in the units" test -z "$verify"
[ -z "$verify" ] || info "$verify"

# Turns any system call the filter denies into SIGSYS for the test (the unit itself says EPERM),
# so that a denial cannot hide behind an error path.
mkdir -p /run/systemd/system/minid.service.d
printf '[Service]\nSystemCallErrorNumber=kill\n' >/run/systemd/system/minid.service.d/e2e.conf
systemctl daemon-reload
# (systemd shows "kill" as its internal value INT_MAX - 1, EPERM as 1.)
check "test drop-in: denied system calls kill" \
	test "$(prop minid.service SystemCallErrorNumber)" = 2147483646

# --- socket activation -----------------------------------------------------------------------
t=$(ms)
page=$(body http://127.0.0.1/)
info "first request (starts the service) took $(($(ms) - t)) ms"
check "first request on 127.0.0.1:80 gets the welcome page" grep -q 'Welcome to minid' <<<"$page"
check "minid.service was started by the socket and is active" wait_active minid.service
check "IPv6: [::1]:80 serves too" test "$(get 'http://[::1]/')" = 200
check "a missing file is 404" test "$(get http://127.0.0.1/no-such-file)" = 404
info "status: $(prop minid.service StatusText)"
main_pid=$(prop minid.service MainPID)
workers=$(worker_pids)
info "master $main_pid, workers $(oneline "$workers")"
check "the master has worker processes" test -n "$workers"
check "the master and workers run as user minid" \
	test "$(ps -o user= -p "$main_pid,$(oneline "$workers" | tr ' ' ,)" | sort -u | tr -d ' ')" = minid
# No TCP upstream in the shipped config: each worker adds a seccomp filter that denies it IP
# sockets (minid(8), EGRESS FILTER), on top of the unit's own.
seccomp_filters() { sed -n 's/^Seccomp_filters:[[:space:]]*//p' "/proc/$1/status"; }
fenced=true
for p in $workers; do
	[ "$(seccomp_filters "$p")" = $(($(seccomp_filters "$main_pid") + 1)) ] || fenced=false
done
info "seccomp filters: master $(seccomp_filters "$main_pid"), workers $(for p in $workers; do seccomp_filters "$p"; done | paste -sd' ' -)"
check "every worker has one seccomp filter more than the master (no IP sockets)" $fenced
check "the workers say they cannot open outbound connections" \
	test "$(journalctl -b --no-pager -q -u minid.service | grep -c 'socket(AF_INET/AF_INET6) denied')" -ge "$(wc -w <<<"$workers")"
if command -v minidctl >/dev/null; then
	status=$(minidctl status 2>&1)
	check "minidctl status (as root) succeeds" minidctl status >/dev/null
	info "minidctl status:"
	while IFS= read -r line; do info "  $line"; done <<<"$status"
	all_listed=true
	for p in $workers; do grep -qw "$p" <<<"$status" || all_listed=false; done
	check "minidctl status lists every worker pid" $all_listed
else
	fail "minidctl is not installed"
fi

# --- reload under load -----------------------------------------------------------------------
start_load
sleep 1
reload_ok=true
for i in 1 2 3; do
	t=$(ms)
	systemctl reload minid.service || reload_ok=false
	info "systemctl reload #$i took $(($(ms) - t)) ms"
	sleep 0.3
done
sleep 1
stop_load "3 reloads under load"
check "systemctl reload succeeded 3 times" $reload_ok
check "MainPID unchanged across reloads" test "$(prop minid.service MainPID)" = "$main_pid"
new_workers=$(worker_pids)
check "a new generation of workers replaced the old one" \
	test -n "$new_workers" -a -z "$(comm -12 <(echo "$workers") <(echo "$new_workers"))"
info "workers now $(oneline "$new_workers"); status: $(prop minid.service StatusText)"

# --- CPU quota -------------------------------------------------------------------------------
# Under CPUQuota= below one CPU per worker, workers must not poll: the master says so. Polling is
# opt-in (busy_poll = 0 by default), so turn it on first as minid.conf(5) tells an operator to:
# busy_poll in the config, and /proc/loadavg (hidden by the unit's ProcSubset=pid) back through a
# drop-in with ProcSubset=all, which takes a restart. The warnings check below the broken-config
# section proves that the workers could then read it (they warn when they cannot).
check "minid.service hides /proc/loadavg (ProcSubset=pid)" \
	test "$(prop minid.service ProcSubset)" = pid
poll_dropin=/etc/systemd/system/minid.service.d/busy-poll.conf
mkdir -p "$(dirname "$poll_dropin")"
printf '[Service]\nProcSubset=all\n' >"$poll_dropin"
sed -i 's|^#busy_poll = .*|busy_poll = 50us|' /etc/minid/minid.conf
check "busy_poll turned on in the config" grep -q '^busy_poll = 50us$' /etc/minid/minid.conf
systemctl daemon-reload
check "restart with busy polling on and ProcSubset=all" systemctl restart minid.service
check "ProcSubset=all from the drop-in" test "$(prop minid.service ProcSubset)" = all
check "serving with busy polling on" test "$(get http://127.0.0.1/)" = 200
check "systemctl set-property --runtime minid.service CPUQuota=50%" \
	systemctl set-property --runtime minid.service CPUQuota=50%
cg=$(prop minid.service ControlGroup)
quota_file=
for f in "/sys/fs/cgroup$cg/cpu.max" "/sys/fs/cgroup/cpu,cpuacct$cg/cpu.cfs_quota_us" \
	"/sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us"; do
	[ -f "$f" ] && quota_file=$f && break
done
if [ -n "$quota_file" ] && grep -q '^[0-9]' "$quota_file"; then
	since=$(date '+%Y-%m-%d %H:%M:%S')
	check "reload under the quota" systemctl reload minid.service
	check "the journal says the new workers do not poll, and why" grep -q \
		"busy polling is off: the CPU quota of this cgroup is 0.50 CPU ($quota_file)" \
		<<<"$(journalctl -u minid.service --since="$since" --no-pager)"
	check "serving under the quota" test "$(get http://127.0.0.1/)" = 200
else
	info "skipped the quota checks: CPUQuota= does not reach the cgroup here" \
		"(${quota_file:-no cpu.max or cpu.cfs_quota_us}: $(cat "$quota_file" 2>/dev/null))"
fi
check "systemctl set-property --runtime minid.service CPUQuota=" \
	systemctl set-property --runtime minid.service CPUQuota=
sleep 1 # --since has a resolution of one second: leave the earlier reload's second behind
since=$(date '+%Y-%m-%d %H:%M:%S')
check "reload without the quota" systemctl reload minid.service
check "the journal says nothing about polling then" test -z \
	"$(journalctl -u minid.service --since="$since" --no-pager | grep 'busy polling')"
sed -i 's|^busy_poll = 50us$|#busy_poll = 0|' /etc/minid/minid.conf
rm -f "$poll_dropin"
systemctl daemon-reload
check "restart with polling off and the shipped sandbox again" systemctl restart minid.service
check "serving after the restart" test "$(get http://127.0.0.1/)" = 200
main_pid=$(prop minid.service MainPID)
new_workers=$(worker_pids)

# --- upgrade: reinstalling runs postinst's reload path ---------------------------------------
workers=$new_workers
start_load
sleep 0.5
t=$(ms)
check "reinstall (upgrade path) of the package" apt-get install -y -q --reinstall "$deb"
info "reinstall took $(($(ms) - t)) ms"
sleep 0.5
stop_load "package reinstall under load"
check "MainPID unchanged by the upgrade" test "$(prop minid.service MainPID)" = "$main_pid"
new_workers=$(worker_pids)
check "the upgrade reloaded the workers" \
	test -n "$new_workers" -a -z "$(comm -12 <(echo "$workers") <(echo "$new_workers"))"

# --- reverse proxy to Gunicorn apps under /run ----------------------------------------------
# Three apps (tests/apps/app.py, bound at /apps), each reached the way minid(8) PROXY says:
# app: a socket unit holds /run/app/app.sock (group minid, 0660) and starts Gunicorn on the first
# connection; app2: Gunicorn binds /run/app2/app.sock itself in its RuntimeDirectory=; app3:
# Gunicorn on 127.0.0.1:8000, reachable through the unit's IPAddressAllow=localhost.
proxy_checks() {
	mkdir -p /etc/systemd/system
	cat >/etc/systemd/system/app.socket <<-'UNIT'
		[Socket]
		ListenStream=/run/app/app.sock
		SocketGroup=minid
		SocketMode=0660
	UNIT
	cat >/etc/systemd/system/app.service <<-'UNIT'
		[Service]
		DynamicUser=yes
		RuntimeDirectory=app-state
		RuntimeDirectoryPreserve=yes
		Environment=APP_STATE_DIR=/run/app-state
		ExecStart=/usr/bin/gunicorn -w 1 --chdir /apps app:app
		ExecReload=/bin/kill -HUP $MAINPID
	UNIT
	cat >/etc/systemd/system/app2.service <<-'UNIT'
		[Service]
		DynamicUser=yes
		RuntimeDirectory=app2
		Environment=APP_STATE_DIR=/run/app2
		ExecStart=/usr/bin/gunicorn -w 1 --chdir /apps -b unix:/run/app2/app.sock app:app
	UNIT
	cat >/etc/systemd/system/app3.service <<-'UNIT'
		[Service]
		DynamicUser=yes
		RuntimeDirectory=app3
		Environment=APP_STATE_DIR=/run/app3
		ExecStart=/usr/bin/gunicorn -w 1 --chdir /apps -b 127.0.0.1:8000 app:app
	UNIT
	systemctl daemon-reload
	check "app.socket starts" systemctl start app.socket
	check "app2.service and app3.service start" systemctl start app2.service app3.service
	for _ in $(seq 100); do
		[ -S /run/app2/app.sock ] && curl -s -o /dev/null http://127.0.0.1:8000/hello && break
		sleep 0.1
	done
	cp /etc/minid/minid.conf /run/minid.conf.before-proxy
	cat >>/etc/minid/minid.conf <<-'CONF'

		[upstream app]
		server = unix:/run/app/app.sock

		[upstream app2]
		server = unix:/run/app2/app.sock

		[upstream app3]
		server = 127.0.0.1:8000

		[site apps]
		hosts = 127.0.0.1
		root = /usr/share/minid/site
		proxy_fallback = app
		proxy = /echo app2
		proxy = /slow app3
	CONF
	if ! out=$(minid -t -c /etc/minid/minid.conf 2>&1); then
		if grep -qE "which this minid does not have|unknown key 'proxy|unknown section \[upstream" <<<"$out"; then
			info "SKIPPED the proxy checks: this minid has no reverse proxy ($(oneline "$out"))"
		else
			fail "minid -t accepts the proxy config: $(oneline "$out")"
		fi
		cp /run/minid.conf.before-proxy /etc/minid/minid.conf
		return
	fi
	check "systemctl reload with three upstreams" systemctl reload minid.service
	check "a static file is still served from root" grep -q 'Welcome to minid' <<<"$(body http://127.0.0.1/)"
	t=$(ms)
	check "GET /hello reaches the socket-activated Gunicorn (proxy_fallback)" \
		test "$(body http://127.0.0.1/hello)" = "Hello, world!"
	info "first proxied request (starts app.service) took $(($(ms) - t)) ms"
	check "app.service was started by its socket" systemctl -q is-active app.service
	echo_json=$(curl -s --max-time 10 -d 'twelve bytes' http://127.0.0.1/echo)
	check "POST /echo reaches Gunicorn on /run/app2/app.sock (RuntimeDirectory=)" \
		grep -q '"body_length": 12' <<<"$echo_json"
	check "the app sees X-Forwarded-For from minid" grep -q '"x-forwarded-for": "127.0.0.1"' <<<"$echo_json"
	check "GET /slow reaches Gunicorn on 127.0.0.1:8000 (IPAddressAllow=localhost)" \
		test "$(body 'http://127.0.0.1/slow?ms=10')" = slow
	check "with a TCP upstream the workers keep IP sockets (no egress filter)" \
		grep -q 'IP sockets allowed (a TCP upstream is configured)' <<<"$(journalctl -b --no-pager -q -u minid.service)"

	# Restarting and HUPing the socket-activated app under load: nobody sees it.
	rm -f /run/e2e-proxy-*.codes /run/e2e-proxy-stop
	(while [ ! -e /run/e2e-proxy-stop ]; do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 http://127.0.0.1/hello >>/run/e2e-proxy-get.codes
	done) &
	local getter=$!
	(n=0; while [ ! -e /run/e2e-proxy-stop ]; do
		n=$((n + 1))
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 -d 'x' "http://127.0.0.1/post?id=e2e-$n" >>/run/e2e-proxy-post.codes
	done) &
	local poster=$!
	sleep 1
	t=$(ms)
	check "systemctl restart app.service under load" systemctl restart app.service
	info "app restart took $(($(ms) - t)) ms"
	sleep 1
	check "systemctl reload app.service (Gunicorn HUP) under load" systemctl reload app.service
	sleep 1
	touch /run/e2e-proxy-stop
	wait "$getter" "$poster"
	local f total bad
	for f in get post; do
		total=$(wc -l </run/e2e-proxy-$f.codes)
		bad=$(grep -vc '^200$' /run/e2e-proxy-$f.codes)
		check "app restart + HUP under load: $f: $total requests, $bad failed" \
			test "$total" -ge 10 -a "$bad" -eq 0
	done
	dups=$(sort /run/app-state/posts 2>/dev/null | uniq -d | head -3)
	check "no POST executed twice" test -z "$dups"
	systemctl stop app.socket app.service app2.service app3.service
	cp /run/minid.conf.before-proxy /etc/minid/minid.conf
	check "reload back to the shipped config" systemctl reload minid.service
}
proxy_checks

# --- a broken config -------------------------------------------------------------------------
# Warnings are expected from here until $expected_warnings_end; everything else is checked below.
alerts=$(journalctl -b --no-pager -q -u minid.service -p warning)
cp /etc/minid/minid.conf /run/minid.conf.good
printf '\n[http]\nmax_connections = lots\n' >>/etc/minid/minid.conf
workers=$(worker_pids)
if out=$(systemctl reload minid.service 2>&1); then
	fail "systemctl reload with a broken config fails"
else
	pass "systemctl reload with a broken config fails"
fi
info "systemctl said: $(oneline "$out")"
check "the journal names the bad value" grep -q 'lots' <<<"$(journalctl -u minid.service -n 30 --no-pager)"
check "minid.service is still active" systemctl -q is-active minid.service
check "same MainPID after the failed reload" test "$(prop minid.service MainPID)" = "$main_pid"
check "the old workers keep serving" test "$(worker_pids)" = "$workers" -a "$(get http://127.0.0.1/)" = 200
# An upgrade must not take the server down over a broken config: postinst warns, old workers stay.
out=$(apt-get install -y -q --reinstall "$deb" 2>&1)
rc=$?
check "an upgrade with the broken config succeeds (apt-get exit $rc)" test $rc -eq 0
check "postinst warns that the config is invalid" grep -q 'minid.conf is invalid' <<<"$out"
check "the old workers still serve after that upgrade" \
	test "$(worker_pids)" = "$workers" -a "$(get http://127.0.0.1/)" = 200
cp /run/minid.conf.good /etc/minid/minid.conf
check "systemctl reload works again with the fixed config" systemctl reload minid.service
check "serving after the fix" test "$(get http://127.0.0.1/)" = 200

# Without a control socket ExecReload cannot work; postinst then restarts a valid config instead.
sed -i 's|^control_socket = .*|control_socket = off|' /etc/minid/minid.conf
out=$(apt-get install -y -q --reinstall "$deb" 2>&1)
rc=$?
check "an upgrade with control_socket = off succeeds (apt-get exit $rc)" test $rc -eq 0
check "postinst falls back to a restart" grep -q 'restarting minid.service' <<<"$out"
check "the restarted service serves with a new MainPID" \
	test "$(prop minid.service MainPID)" != "$main_pid" -a "$(get http://127.0.0.1/)" = 200
cp /run/minid.conf.good /etc/minid/minid.conf
systemctl restart minid.service
main_pid=$(prop minid.service MainPID)
# --- HTTPS -----------------------------------------------------------------------------------
# minid-https.socket with a certificate handed over by LoadCredential= (the key stays root's,
# mode 0600: only systemd reads it, minid gets a private copy); then certificates at a path the
# service user may read, for reloads (credentials are copied at start only, see minid(8)).
serial() { curl -s -o /dev/null --max-time 10 --cacert /e2e-tls/ca.pem -w '%{certs}' https://localhost/ |
	sed -n 's/^Serial Number: *0*//p' | head -n1; }
install -d -m 0755 /etc/minid/tls
install -m 0600 /e2e-tls/leaf1.pem /e2e-tls/leaf1.key /etc/minid/tls/
printf '[Service]\nLoadCredential=tls.pem:/etc/minid/tls/leaf1.pem\nLoadCredential=tls.key:/etc/minid/tls/leaf1.key\n' \
	>/run/systemd/system/minid.service.d/tls.conf
cp /run/minid.conf.good /etc/minid/minid.conf
printf '\n[http]\ntls_certificate = /run/credentials/minid.service/tls.pem\ntls_key = /run/credentials/minid.service/tls.key\n' \
	>>/etc/minid/minid.conf
systemctl daemon-reload
check "minid-https.socket is installed and disabled" \
	test "$(systemctl is-enabled minid-https.socket 2>/dev/null)" = disabled
check "systemctl enable minid-https.socket" systemctl enable minid-https.socket
# systemd starts no socket whose service runs ("Socket service minid.service already active,
# refusing"), not even in one restart transaction: stop the service first (minid(8), HTTPS).
check "systemctl stop minid.service" systemctl stop minid.service
check "systemctl start minid-https.socket minid.service" systemctl start minid-https.socket minid.service
check "minid-https.socket is active" systemctl -q is-active minid-https.socket
check "minid-https.socket listens on [::]:443" grep -q '\[::\]:443' <<<"$(prop minid-https.socket Listen)"
check "curl --cacert https://localhost/ gets the welcome page" \
	grep -q 'Welcome to minid' <<<"$(body --cacert /e2e-tls/ca.pem https://localhost/)"
check "plain HTTP still serves" test "$(get http://127.0.0.1/)" = 200
info "certificate serial over https: $(serial)"
check "the certificate from LoadCredential= is served (serial 1)" test "$(serial)" = 1
check "the key stays root's (mode 0600)" test "$(stat -c %U:%a /etc/minid/tls/leaf1.key)" = root:600
https_pid=$(prop minid.service MainPID)
# A renewed certificate at a path the service user can read: the reload serves it.
install -m 0644 /e2e-tls/leaf2.pem /etc/minid/tls/
install -m 0640 -g minid /e2e-tls/leaf2.key /etc/minid/tls/
sed -i 's|^tls_certificate = .*|tls_certificate = /etc/minid/tls/leaf2.pem|; s|^tls_key = .*|tls_key = /etc/minid/tls/leaf2.key|' \
	/etc/minid/minid.conf
check "systemctl reload with a renewed certificate" systemctl reload minid.service
check "the renewed certificate is served (serial 2)" test "$(serial)" = 2
# A broken certificate fails the reload truthfully and the old one keeps being served.
cp /etc/minid/tls/leaf2.pem /run/leaf2.pem.good
echo garbage >/etc/minid/tls/leaf2.pem
if out=$(systemctl reload minid.service 2>&1); then
	fail "systemctl reload with a broken certificate fails"
else
	pass "systemctl reload with a broken certificate fails"
fi
info "systemctl said: $(oneline "$out")"
check "the journal names the certificate file" \
	grep -q '/etc/minid/tls/leaf2.pem: no PEM certificate could be read' <<<"$(journalctl -u minid.service -n 30 --no-pager)"
check "https keeps serving the previous certificate" test "$(serial)" = 2
check "same MainPID through the HTTPS reloads" test "$(prop minid.service MainPID)" = "$https_pid"
check "systemctl disable --now minid-https.socket" systemctl disable --now minid-https.socket
rm -rf /run/systemd/system/minid.service.d/tls.conf /etc/minid/tls /run/leaf2.pem.good
systemctl daemon-reload
cp /run/minid.conf.good /etc/minid/minid.conf
systemctl restart minid.service
main_pid=$(prop minid.service MainPID)
check "serving plain HTTP only again" test "$(get http://127.0.0.1/)" = 200 -a "$(get --max-time 3 https://localhost/ -k)" = 000

# --- automatic HTTPS from pebble inside the container -----------------------------------------
# Debian's pebble (the ACME test CA) and pebble-challtestsrv (its DNS: every name is 127.0.0.1) on
# loopback; pebble's validator connects to minid's listeners on ports 80 (HTTP-01) and 443
# (TLS-ALPN-01). The unit's IPAddressDeny=any + IPAddressAllow=localhost lets the ACME agent reach
# a CA on 127.0.0.1, so no drop-in is needed here (a public CA needs IPAddressAllow=any, minid(8)).
acme_checks() {
	if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
		fail "pebble is not installed in the container (tests/e2e/run.sh's package list)"
		return
	fi
	local dir=/run/e2e-pebble
	mkdir -p "$dir"
	cat >"$dir/pebble.json" <<-'JSON'
		{ "pebble": { "listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
		  "certificate": "/e2e-tls/pebble-api.pem", "privateKey": "/e2e-tls/pebble-api.key",
		  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false } }
	JSON
	pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 127.0.0.1:8053 -http01 "" \
		-https01 "" -tlsalpn01 "" -management 127.0.0.1:8055 >"$dir/challtestsrv.log" 2>&1 &
	local dns_pid=$!
	PEBBLE_VA_NOSLEEP=1 pebble -config "$dir/pebble.json" -dnsserver 127.0.0.1:8053 -strict=false \
		>"$dir/pebble.log" 2>&1 &
	local pebble_pid=$!
	# pebble makes a new root at every start: fetch it once it listens.
	for _ in $(seq 100); do
		curl -sf --max-time 2 --cacert /e2e-tls/ca.pem -o "$dir/root.pem" https://127.0.0.1:15000/roots/0 && break
		sleep 0.1
	done
	check "pebble starts and gives its root" test -s "$dir/root.pem"
	# The agent runs as minid: pebble's API certificate must be readable to it.
	install -m 0644 /e2e-tls/ca.pem /etc/minid/pebble-api-ca.pem
	cp /run/minid.conf.good /etc/minid/minid.conf
	cat >>/etc/minid/minid.conf <<-'CONF'

		[site auto]
		hosts = a.test b.test
		root = /usr/share/minid/site
		tls = auto

		[acme]
		ca = https://127.0.0.1:14000/dir
		ca_root = /etc/minid/pebble-api-ca.pem
	CONF
	check "minid -t accepts tls = auto with pebble as the CA" minid -t -c /etc/minid/minid.conf
	# The enable sequence of minid(8), HTTPS: the service is stopped while the socket starts.
	check "systemctl enable minid-https.socket (tls = auto)" systemctl enable minid-https.socket
	systemctl stop minid.service
	local t0 got=false
	t0=$(ms)
	check "systemctl start minid-https.socket minid.service (tls = auto)" \
		systemctl start minid-https.socket minid.service
	while [ $(($(ms) - t0)) -lt 60000 ]; do
		if grep -q 'Welcome to minid' <<<"$(body --max-time 3 --cacert "$dir/root.pem" \
			--resolve a.test:443:127.0.0.1 https://a.test/)"; then
			got=true
			break
		fi
		sleep 0.5
	done
	local took=$(($(ms) - t0))
	info "tls = auto: HTTPS with pebble's certificate after $took ms"
	check "HTTPS for a.test with curl --cacert <pebble's root> within 60 s ($took ms)" $got
	check "HTTPS for b.test (the site's second name) too" grep -q 'Welcome to minid' \
		<<<"$(body --cacert "$dir/root.pem" --resolve b.test:443:127.0.0.1 https://b.test/)"
	local certs issuer names
	certs=$(curl -s -o /dev/null --max-time 10 --cacert "$dir/root.pem" --resolve a.test:443:127.0.0.1 \
		-w '%{certs}' https://a.test/)
	issuer=$(sed -n 's/^Issuer: *//p' <<<"$certs" | head -n1)
	names=$(grep -o 'DNS:[^, ]*' <<<"$certs" | sort -u | paste -sd, -)
	info "served certificate: issuer $issuer; names $names"
	check "the served certificate is pebble's (issuer: $issuer)" grep -q 'Pebble Intermediate' <<<"$issuer"
	check "the certificate's names are exactly the site's hosts" \
		test "$names" = "DNS:a.test,DNS:b.test"
	check "pebble issued exactly one certificate" \
		test "$(grep -c 'Issued certificate serial' "$dir/pebble.log")" = 1
	check "the certificate is stored in /var/lib/minid/acme, minid's, mode 0600" \
		test "$(stat -c %U:%a /var/lib/minid/acme/certificates/a.test/certificate.pem 2>/dev/null)" = minid:600
	check "plain HTTP still serves with tls = auto" test "$(get http://127.0.0.1/)" = 200
	status=$(minidctl status 2>&1)
	info "minidctl status (ACME):"
	while IFS= read -r line; do info "  $line"; done < <(grep -iA3 'a.test' <<<"$status")
	check "systemctl disable --now minid-https.socket (tls = auto)" systemctl disable --now minid-https.socket
	kill "$pebble_pid" "$dns_pid"
	wait "$pebble_pid" "$dns_pid" 2>/dev/null
	cp /run/minid.conf.good /etc/minid/minid.conf
	rm -f /etc/minid/pebble-api-ca.pem
	systemctl restart minid.service
	main_pid=$(prop minid.service MainPID)
}
acme_checks

# The end of the expected warnings. (--since, not --after-cursor: journalctl 252 returns nothing
# for --after-cursor combined with -p or -u.)
expected_warnings_end=$(date +@%s.%6N)

# --- graceful stop ---------------------------------------------------------------------------
big=/usr/share/minid/site/e2e-big.bin
head -c 40M /dev/urandom >"$big"
# ~2 s transfer that is in flight when the stop begins: the drain must let it finish.
curl -s --max-time 30 --limit-rate 20M -o /run/e2e-big.out http://127.0.0.1/e2e-big.bin &
slow=$!
sleep 0.5
t=$(ms)
systemctl stop minid.service
stop_ms=$(($(ms) - t))
info "systemctl stop took $stop_ms ms"
wait $slow
slow_rc=$?
check "a download in flight during stop completes (curl exit $slow_rc)" \
	cmp -s "$big" /run/e2e-big.out
check "the stop waited for it (>= 1000 ms)" test "$stop_ms" -ge 1000
check "minid.service is inactive with result success" \
	test "$(prop minid.service ActiveState)" = inactive -a "$(prop minid.service Result)" = success
check "no minid process left after stop" test -z "$(pgrep -x minid)"
check "minid.socket stays active" systemctl -q is-active minid.socket
check "a new connection starts minid again" test "$(get http://127.0.0.1/)" = 200
rm -f "$big" /run/e2e-big.out

# --- security --------------------------------------------------------------------------------
exposure=$(systemd-analyze security minid.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for minid.service: \([0-9.]*\).*/\1/p')
info "systemd-analyze security minid.service: exposure ${exposure:-?}"
check "exposure level ${exposure:-?} <= 2.0" awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'
journal=$(journalctl -b --no-pager -o short-monotonic)
denials=$(grep -E 'SIGSYS|status=31/SYS|Bad system call|Operation not permitted|Permission denied|apparmor="DENIED"' <<<"$journal" | grep -i minid)
check "no system call or permission denials in the journal" test -z "$denials"
[ -z "$denials" ] || info "$denials"
alerts+=$(journalctl --no-pager -q -u minid.service -p warning --since="$expected_warnings_end")
check "no warnings or errors from minid.service apart from the provoked ones" test -z "$alerts"
[ -z "$alerts" ] || info "$alerts"

# --- remove and purge ------------------------------------------------------------------------
rm -rf /run/systemd/system/minid.service.d
systemctl daemon-reload
check "apt-get remove minid" apt-get remove -y -q minid
check "remove stopped the socket" test "$(prop minid.socket ActiveState)" = inactive
check "remove stopped the service" test "$(prop minid.service ActiveState)" = inactive
check "no minid process left after remove" test -z "$(pgrep -x minid)"
check "port 80 is closed" test "$(get http://127.0.0.1/)" = 000
check "unit files are gone" test ! -e /lib/systemd/system/minid.service -a ! -e /lib/systemd/system/minid.socket
check "the conffile stays after remove" test -f /etc/minid/minid.conf
check "apt-get purge minid" apt-get purge -y -q minid
check "/etc/minid is gone after purge" test ! -e /etc/minid
check "no unit symlinks left" test -z "$(find /etc/systemd /var/lib/systemd -name 'minid*' 2>/dev/null)"
check "/var/log/minid is gone" test ! -e /var/log/minid
check "dpkg forgot minid" test -z "$(dpkg-query -W -f='${Status}' minid 2>/dev/null)"
check "no minid process left after purge" test -z "$(pgrep -x minid)"

finish
