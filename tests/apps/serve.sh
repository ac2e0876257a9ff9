#!/bin/sh
# Runs tests/apps/app.py under one of Debian's WSGI servers, in the foreground (exec: the pid you
# started is the server's), with /usr/bin/python3 (the python3 on PATH may lack the packages).
#   tests/apps/serve.sh gunicorn-sync|gunicorn-gevent|waitress ADDRESS [EXTRA ARGS...]
# ADDRESS: HOST:PORT or unix:/path. gunicorn-sync runs 1 worker (the posts' setup), gunicorn-gevent
# (2 x CPUs) + 1 workers as Gunicorn's docs advise (GEVENT_WORKERS overrides), waitress its
# default 4 threads. APP_STATE_DIR (default .) receives the app's counters.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 gunicorn-sync|gunicorn-gevent|waitress ADDRESS [ARGS...]" >&2; exit 2; }
kind=$1 addr=$2
shift 2
apps=$(cd "$(dirname "$0")" && pwd)
case $kind in
gunicorn-sync)
	exec /usr/bin/python3 /usr/bin/gunicorn --chdir "$apps" -w 1 -k sync -b "$addr" \
		--log-level warning "$@" app:app ;;
gunicorn-gevent)
	workers=${GEVENT_WORKERS:-$((2 * $(nproc) + 1))}
	exec /usr/bin/python3 /usr/bin/gunicorn --chdir "$apps" -w "$workers" -k gevent -b "$addr" \
		--log-level warning "$@" app:app ;;
waitress)
	case $addr in
	unix:*) listen="--unix-socket=${addr#unix:}" ;;
	*) listen="--listen=$addr" ;;
	esac
	cd "$apps"
	exec /usr/bin/python3 -m waitress "$listen" "$@" app:app ;;
*) echo "$0: unknown server '$kind'" >&2; exit 2 ;;
esac
