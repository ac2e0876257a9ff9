#!/bin/bash
# End-to-end test of the minid Debian package under a real systemd: boots a debootstrapped Debian
# tree with systemd-nspawn and runs tests/e2e/inside.sh there as the system's job.
#
#   tests/e2e/run.sh [DEB]     (as root; without DEB the package is built with build-deb.sh)
#
# Installs systemd-container and debootstrap when missing. The tree is cached under /var/tmp,
# keyed by suite and package list (MINID_E2E_CACHE=0 rebuilds it, then replaces the cache);
# the mirror comes from this machine's apt configuration. Exits non-zero when any check fails.
# Environment: MINID_E2E_TIMEOUT (seconds for the boot, default 300), MINID_E2E_KEEP=1 keeps the
# work dir (nspawn.log: the console; out/journal.txt: the container's journal), as does a failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
boot_timeout=${MINID_E2E_TIMEOUT:-300}
t_start=$(date +%s)
declare -a timings=()

say() { printf 'e2e: %s\n' "$*"; }
die() { printf 'e2e: error: %s\n' "$*" >&2; exit 1; }
# phase NAME START: records how long a phase took since START (epoch seconds).
phase() { timings+=("$(printf '%-22s %4d s' "$1" $(( $(date +%s) - $2 )))"); }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and systemd-nspawn need it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/minid-e2e.XXXXXX")
cg=minid-e2e-$$
cg_dirs=()

cleanup() {
	local rc=$? d
	# Leave our cgroup, then remove it with whatever nspawn left below it (payload/, supervisor/).
	for d in "${cg_dirs[@]}"; do
		echo $$ >"$(dirname "$d")/cgroup.procs" 2>/dev/null || true
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	if [ "${MINID_E2E_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		say "work dir kept: $work"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT

# --- tools -----------------------------------------------------------------------------------
t=$(date +%s)
need=()
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${need[@]}" >"$work/apt.log" 2>&1 ||
		{ apt-get update -q >"$work/apt.log" 2>&1 &&
			apt-get install -y -q --no-install-recommends "${need[@]}" >"$work/apt.log" 2>&1; } ||
		{ cat "$work/apt.log"; die "could not install ${need[*]}"; }
fi
phase "tools" "$t"

# --- the package -----------------------------------------------------------------------------
t=$(date +%s)
mkdir "$work/debs"
if [ $# -ge 1 ]; then
	cp "$1" "$work/debs/"
else
	"$repo/packaging/build-deb.sh" "$work/debs" >"$work/build-deb.log" 2>&1 ||
		{ tail -n 40 "$work/build-deb.log"; die "packaging/build-deb.sh failed"; }
fi
deb=$(ls "$work"/debs/minid_*.deb)
say "package: $(basename "$deb")"
phase "build .deb" "$t"

# --- the Debian tree (cached) ----------------------------------------------------------------
t=$(date +%s)
# shellcheck source=/dev/null
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
# The container has no network: everything the package depends on goes in at debootstrap time.
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep -v '^$')
# gunicorn: the apps minid proxies to in the proxy checks (tests/apps, bound at /apps);
# pebble: the ACME test CA of the automatic-HTTPS check.
packages=$(printf '%s\n' systemd dbus curl procps gunicorn pebble "$deps" | sort -u | paste -sd, -)
key=$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-16)
root=/var/tmp/minid-e2e-$suite-$key
if [ "${MINID_E2E_CACHE:-1}" = 0 ] || [ ! -x "$root/lib/systemd/systemd" ]; then
	# shellcheck disable=SC2016 # $(REPO_URI) is apt's format syntax, not the shell's.
	mirror=${MINID_E2E_MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' "Release: $suite" \
		"Target-Of: deb" "Created-By: Packages" 2>/dev/null | head -n1)}
	[ -n "$mirror" ] || die "no apt source for $suite on this machine; set MINID_E2E_MIRROR"
	say "debootstrap $suite ($packages) from $mirror"
	rm -rf "$root.new"
	debootstrap --variant=minbase --include="$packages" "$suite" "$root.new" "$mirror" \
		>"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log"; die "debootstrap failed"; }
	rm -f "$root.new"/var/cache/apt/archives/*.deb
	rm -rf "$root" && mv "$root.new" "$root"
	phase "debootstrap" "$t"
else
	say "cached tree: $root"
	phase "tree (cached)" "$t"
fi

# --- test certificates ---------------------------------------------------------------------
# The container has no openssl: a test CA and leaves for localhost are made here (serials 1, 2),
# and pebble's API certificate (pebble-api.pem, for localhost and 127.0.0.1, by the same CA).
mkdir "$work/tls"
(
	cd "$work/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.pem -days 2 -subj /CN=minid-e2e-CA
	for n in 1 2; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf$n.key \
			-out leaf$n.csr -subj /CN=localhost
		printf 'subjectAltName=DNS:localhost\n' >leaf.ext
		openssl x509 -req -in leaf$n.csr -CA ca.pem -CAkey ca.key -set_serial $n -days 1 \
			-extfile leaf.ext -out leaf$n.crt
		cat leaf$n.crt ca.pem >leaf$n.pem
	done
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pebble-api.key \
		-out pebble-api.csr -subj /CN=localhost
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >leaf.ext
	openssl x509 -req -in pebble-api.csr -CA ca.pem -CAkey ca.key -set_serial 3 -days 1 \
		-extfile leaf.ext -out pebble-api.pem
	rm -f ca.key ./*.csr ./*.crt leaf.ext
) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log"; die "could not make test certificates"; }

# --- boot ------------------------------------------------------------------------------------
# nspawn leaves payload/ and supervisor/ cgroups behind in its parent: give it a cgroup of its
# own (on every mounted hierarchy that has one) and remove that afterwards.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	cg_bases=(/sys/fs/cgroup)
else
	cg_bases=()
	for h in unified systemd; do [ -d "/sys/fs/cgroup/$h" ] && cg_bases+=("/sys/fs/cgroup/$h"); done
fi
for b in "${cg_bases[@]}"; do
	mkdir "$b/$cg"
	cg_dirs+=("$b/$cg")
	echo $$ >"$b/$cg/cgroup.procs"
done

t=$(date +%s)
say "booting systemd in $root (timeout ${boot_timeout}s)"
mkdir "$work/out"
# --console=read-only forwards the container's console (boot messages and inside.sh's output) to
# nspawn.log. Not passive: that console is connected nowhere, so once its buffer is full every
# console write in the container blocks, and with it systemd.
rc=0
timeout -k 10 "$boot_timeout" systemd-nspawn -q -D "$root" --register=no --keep-unit \
	--private-network --volatile=overlay --console=read-only \
	--bind-ro="$work/debs":/debs --bind-ro="$repo/tests/e2e/inside.sh":/inside.sh --bind-ro="$repo/tests/apps":/apps \
	--bind-ro="$work/tls":/e2e-tls \
	--bind="$work/out":/e2e-out \
	--boot systemd.run=/inside.sh </dev/null >"$work/nspawn.log" 2>&1 || rc=$?
phase "boot + checks" "$t"

touch "$work/out/checks.log"
cat "$work/out/checks.log"
summary=$(grep '^SUMMARY:' "$work/out/checks.log" || true)

echo
printf 'e2e timings:\n'
printf '  %s\n' "${timings[@]}"
printf '  %-22s %4d s\n' total $(( $(date +%s) - t_start ))

if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	tail -n 40 "$work/nspawn.log"
	die "the container did not finish within ${boot_timeout}s"
fi
if [ -z "$summary" ]; then
	tail -n 60 "$work/nspawn.log"
	die "inside.sh printed no summary (nspawn exit status $rc)"
fi
if [ $rc -ne 0 ] || ! grep -q '^SUMMARY: .* 0 failed' <<<"$summary"; then
	die "checks failed ($summary; nspawn exit status $rc); see $work/out/journal.txt"
fi
say "all checks passed"
