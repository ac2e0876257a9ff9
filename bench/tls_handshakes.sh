#!/usr/bin/env bash
# The TLS loads of bench/run.sh (--tls) for minid and nginx, kept under its old name and
# arguments: bench/tls_handshakes.sh [MINID_BINARY] [ROUNDS] [SECONDS]. SECONDS sets the length
# of the handshake and wrk loads; more options (e.g. --servers, --out) go after the three.
set -euo pipefail
cd "$(dirname "$0")/.."
args=(--tls --servers minid,nginx)
if [[ $# -gt 0 && "$1" != -* ]]; then args+=(--minid "$(realpath "$1")" --no-build); shift; fi
if [[ $# -gt 0 && "$1" != -* ]]; then args+=(--rounds "$1"); shift; fi
if [[ $# -gt 0 && "$1" != -* ]]; then export STIME_SECS="$1" TLS_SECS="$1"; shift; fi
exec bench/run.sh "${args[@]}" "$@"
