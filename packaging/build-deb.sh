#!/bin/sh
# Builds the minid Debian package from this repository's working tree and checks it with lintian.
#
#   packaging/build-deb.sh [OUTDIR]        (default OUTDIR: build-deb/ in the repository)
#
# The tree (tracked and new files, minus ignored ones such as build dirs) is copied to a temp
# dir, packaging/debian becomes ./debian there, and dpkg-buildpackage -b -us -uc builds it.
# Missing Build-Depends are installed with apt-get (needs root). The .deb is copied to OUTDIR and
# its path printed last. lintian runs when installed and fails the build on any error or
# warning; MINID_LINTIAN=0 skips it. DEB_BUILD_OPTIONS is honoured (default: parallel=2).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

say() { printf 'build-deb: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else die "need root to run: $*"
	fi
}

# apt-get install, with one "apt-get update" retry for a machine whose package lists are stale.
apt_install() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" ||
		{ as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends "$@"; }
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/minid-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
src=$tmp/minid

mkdir "$src"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# --ignore-failed-read: a tracked file deleted in the working tree is simply left out.
	git -C "$repo" ls-files -z --cached --others --exclude-standard |
		tar -C "$repo" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$src" -xf -
else
	tar -C "$repo" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
cp -a "$src/packaging/debian" "$src/debian"

if ! command -v dpkg-buildpackage >/dev/null 2>&1 || ! command -v dpkg-checkbuilddeps >/dev/null 2>&1; then
	apt_install dpkg-dev
fi
if ! dpkg-checkbuilddeps "$src/debian/control" >/dev/null 2>&1; then
	say "installing missing Build-Depends"
	(cd "$src" && as_root env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y . ) ||
		{ as_root apt-get update -q &&
			(cd "$src" && as_root env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y . ); }
fi

# The package version comes from debian/changelog; it must match project(VERSION) in CMake.
deb_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
cmake_version=$(sed -n 's/^project(minid VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$deb_version" = "$cmake_version" ] ||
	die "packaging/debian/changelog says $deb_version but CMakeLists.txt says $cmake_version; add a changelog entry (dch -v $cmake_version)"

say "building minid $deb_version in $src"
start=$(date +%s)
(cd "$src" && DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2} dpkg-buildpackage -b -us -uc) \
	>"$tmp/build.log" 2>&1 || { tail -n 60 "$tmp/build.log" >&2; die "dpkg-buildpackage failed"; }
say "dpkg-buildpackage took $(( $(date +%s) - start )) s"

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=minid_${deb_version}_${arch}.deb
[ -f "$tmp/$deb" ] || die "dpkg-buildpackage made no $deb"
rm -f "$out"/minid_*.deb
cp "$tmp/$deb" "$out/"

if [ "${MINID_LINTIAN:-1}" != 0 ]; then
	if command -v lintian >/dev/null 2>&1; then
		say "lintian $deb"
		lintian --info --display-info --fail-on error,warning "$out/$deb" >&2 ||
			die "lintian reported errors or warnings"
	else
		say "lintian is not installed; skipped (apt-get install lintian)"
	fi
fi

echo "$out/$deb"
