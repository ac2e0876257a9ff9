#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build/fuzz and runs each for a bounded time on
# one core, starting from the committed seed corpus. Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]
# (default 30). New interesting inputs go to build/fuzz/corpus/<target>, crashes to
# build/fuzz/artifacts/; a crash fails the script. Add a crashing input to
# tests/fuzz/corpus/<target>/ once it is fixed, as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-30}
case "$seconds" in
  '' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
targets=(http_request target_path header_fields config tls_server upstream_response)
build=${MINID_FUZZ_BUILD_DIR:-build/fuzz}  # override for a private build tree

echo "== build fuzz targets (clang, libFuzzer + ASan + UBSan) into $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMINID_FUZZ=ON -DMINID_TESTS=OFF -DMINID_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

mkdir -p "$build/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  work="$build/corpus/$t"
  mkdir -p "$work"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  log="$build/$t.log"
  echo "== fuzz $t for ${seconds}s"
  # The first corpus directory receives new inputs; the committed seeds are read only.
  if "$build/fuzz_$t" "$work" "tests/fuzz/corpus/$t" "${dict[@]}" -max_total_time="$seconds" \
       -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "   $t: ${execs:-?} executions, ${cov:-cov: ?}, no crash"
  else
    status=1
    echo "   $t: FAILED (crash or invariant violation); last lines of $log:"
    tail -n 40 "$log" | sed 's/^/     /'
  fi
done
exit $status
