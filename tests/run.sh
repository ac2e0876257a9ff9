#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): installs what it needs, builds
# minid warning-clean, runs unit + integration tests, then the same under ASan/UBSan, then the
# libFuzzer smoke runs (20 s per target) and the end-to-end test under a real systemd.
# `.ci/run` calls this. The proxy tests run tests/apps/app.py under Debian's gunicorn and waitress.
# Options: --no-asan, --no-fuzz, --no-e2e.
set -euo pipefail
cd "$(dirname "$0")/.."

asan=1 fuzz=1 e2e=1
for arg in "$@"; do
  case "$arg" in
    --no-asan) asan=0 ;;
    --no-fuzz) fuzz=0 ;;
    --no-e2e) e2e=0 ;;
    *) echo "usage: tests/run.sh [--no-asan] [--no-fuzz] [--no-e2e]" >&2; exit 2 ;;
  esac
done

packages=(cmake ninja-build g++ pkg-config libuv1-dev libinih-dev libsystemd-dev libssl-dev node-llhttp
          nlohmann-json3-dev libgtest-dev curl systemd iproute2 procps clang libclang-rt-14-dev
          clang-format openssl testssl.sh pebble libcurl4-openssl-dev gunicorn python3-waitress
          python3-gevent libseccomp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc)
start=$SECONDS

echo "== format check (clang-format, .clang-format at the root)"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  sources() { git ls-files '*.cpp' '*.hpp' '*.h'; }
else  # an unpacked tarball
  sources() { find common daemon worker ctl tests -name '*.cpp' -o -name '*.hpp' -o -name '*.h'; }
fi
unformatted=$(sources | while read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -n "$unformatted" ]; then
  echo "not clang-formatted (run clang-format -i):"; echo "$unformatted"; exit 1
fi

echo "== build (warnings are errors)"
cmake -S . -B build/ci -G Ninja -DMINID_WERROR=ON >/dev/null
cmake --build build/ci -j"$jobs"
echo "== tests"
ctest --test-dir build/ci --output-on-failure -j"$jobs" --timeout 300

if ((asan)); then
  echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build/asan -G Ninja -DMINID_WERROR=ON -DMINID_SANITIZE=ON \
        -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build/asan -j"$jobs"
  echo "== tests under ASan/UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan --output-on-failure -j"$jobs" --timeout 600
fi

if ((fuzz)); then
  echo "== fuzzing smoke run (longer: tests/fuzz/run.sh SECONDS)"
  tests/fuzz/run.sh 20
fi

if ((e2e)); then
  echo "== end-to-end under systemd"
  tests/e2e/run.sh
fi
echo "== all tests done in $((SECONDS - start)) s"
