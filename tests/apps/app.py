"""Test WSGI app for minid's reverse proxy: what the integration tests, the e2e test and bench/
run behind minid under Debian's gunicorn (sync or gevent) and waitress (/usr/bin/python3 only).

Endpoints:
  GET  /, /hello          "Hello, world!" (13 bytes, text/plain): the posts' hello world
  ANY  /echo              JSON: method, path, query, every request header as the app saw it
                          (WSGI environ, so header policy can be checked), body_length, scheme,
                          remote_addr
  POST /post?id=ID        reads the body, appends ID to the state dir's posts log (one line per
                          POST executed), answers {"id": ID, "body_length": N}
  GET  /stats             JSON: posts (count), duplicate_posts (ids executed more than once),
                          incomplete (requests whose body was shorter than Content-Length),
                          slow_bodies (bodies that took more than 0.5 s to read), requests
                          (every request but /, /hello and /stats), pid
  GET  /big?size=N        N bytes (default 8 MiB) with Content-Length, written in 64 KiB pieces
  GET  /slow?ms=N         answers after N ms (default 200)
  GET  /sse?n=N&ms=M      text/event-stream: N events (default 5), M ms apart (default 100),
                          each "data: <i> <unix time in ms>"

State lives in files under $APP_STATE_DIR (default: the current directory), appended with
O_APPEND, so it survives app restarts and is shared by workers and by the test reading it.
"""
import json
import os
import time
from urllib.parse import parse_qs

STATE_DIR = os.environ.get("APP_STATE_DIR", ".")
HELLO = b"Hello, world!"
PIECE = b"x" * 65536


def _append(name, line):
    # One write() per line with O_APPEND: concurrent workers never interleave a line.
    fd = os.open(os.path.join(STATE_DIR, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _lines(name):
    try:
        with open(os.path.join(STATE_DIR, name)) as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def _read_body(environ):
    """Reads the whole body; records it when it came short or slowly (the app must never see
    an incomplete or dribbling request behind a buffering proxy)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    got = 0
    start = time.monotonic()
    while got < length:
        chunk = stream.read(min(65536, length - got))
        if not chunk:
            break
        got += len(chunk)
    if length == 0 and environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        # A chunked body reached the app (minid sends Content-Length): read it to count it.
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            got += len(chunk)
    took = time.monotonic() - start
    if got < length:
        _append("incomplete", "%s %d/%d" % (environ.get("PATH_INFO"), got, length))
    if took > 0.5:
        _append("slow_bodies", "%s %.3f" % (environ.get("PATH_INFO"), took))
    return got


def _json(start_response, obj, status="200 OK"):
    body = json.dumps(obj, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _headers(environ):
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out[key[5:].replace("_", "-").lower()] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out[key.replace("_", "-").lower()] = environ[key]
    return out


def _big(size):
    left = size
    while left > 0:
        piece = PIECE if left >= len(PIECE) else PIECE[:left]
        left -= len(piece)
        yield piece


def _sse(n, ms):
    for i in range(n):
        if i:
            time.sleep(ms / 1000.0)
        yield ("data: %d %d\n\n" % (i, int(time.time() * 1000))).encode()


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    method = environ.get("REQUEST_METHOD", "GET")
    arg = lambda name, default: query.get(name, [default])[0]  # noqa: E731

    if path in ("/", "/hello"):
        _read_body(environ)
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(HELLO)))])
        return [HELLO]
    if path != "/stats":  # not for hello: the benchmarks measure a bare app
        _append("requests", "%s %s" % (method, path))
    if path == "/echo":
        length = _read_body(environ)
        return _json(start_response, {
            "method": method, "path": path, "query": environ.get("QUERY_STRING", ""),
            "headers": _headers(environ), "body_length": length,
            "scheme": environ.get("wsgi.url_scheme"), "remote_addr": environ.get("REMOTE_ADDR"),
        })
    if path == "/post" and method == "POST":
        length = _read_body(environ)
        post_id = arg("id", "-")
        _append("posts", post_id)
        return _json(start_response, {"id": post_id, "body_length": length})
    if path == "/stats":
        posts = _lines("posts")
        seen, dups = set(), set()
        for p in posts:
            if p in seen and p != "-":
                dups.add(p)
            seen.add(p)
        return _json(start_response, {
            "posts": len(posts), "duplicate_posts": sorted(dups),
            "incomplete": _lines("incomplete"), "slow_bodies": _lines("slow_bodies"),
            "requests": len(_lines("requests")), "pid": os.getpid(),
        })
    if path == "/refuse":
        # Answers an upload without reading it (an auth or size check): Gunicorn's sync worker
        # then closes with the body unread.
        body = b"refused\n"
        start_response("413 Payload Too Large", [("Content-Type", "text/plain"),
                                                 ("Content-Length", str(len(body)))])
        return [body]
    if path == "/big":
        size = int(arg("size", str(8 << 20)))
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(size))])
        return _big(size)
    if path == "/slow":
        time.sleep(int(arg("ms", "200")) / 1000.0)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"slow"]
    if path == "/sse":
        start_response("200 OK", [("Content-Type", "text/event-stream"),
                                  ("Cache-Control", "no-cache")])
        return _sse(int(arg("n", "5")), int(arg("ms", "100")))
    body = b"not found\n"
    start_response("404 Not Found", [("Content-Type", "text/plain"),
                                     ("Content-Length", str(len(body)))])
    return [body]


application = app
