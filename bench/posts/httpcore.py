# The small HTTP/1.1 every design in bench/posts/ speaks: GET/HEAD of a file under the docroot,
# keep-alive (HTTP/1.1 by default, HTTP/1.0 on request) and pipelined requests. Standard library
# only; the designs differ in how they get connections and bytes to and from this code.
import argparse
import os
import socket
import socketserver
import time
from email.utils import formatdate

MAX_HEAD = 8192
TYPES = {".txt": "text/plain", ".html": "text/html", ".bin": "application/octet-stream"}
_date = [0, b""]


def options(workers=None):
    """Command line shared by the designs: --port, --root, --backlog (and --workers for pools)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", default=os.environ.get("BENCH_DOCROOT", "."))
    # The posts' servers ran with a listen backlog of 128.
    ap.add_argument("--backlog", type=int, default=128)
    if workers is not None:
        ap.add_argument("--workers", type=int, default=workers)
    args = ap.parse_args()
    args.root = os.path.realpath(args.root)
    return args


def listener(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.host, args.port))
    s.listen(args.backlog)
    return s


def http_date():
    now = int(time.time())
    if now != _date[0]:
        _date[0], _date[1] = now, formatdate(now, usegmt=True).encode()
    return _date[1]


def _file(root, target):
    path = target.split(b"?", 1)[0].split(b"#", 1)[0].decode("latin-1")
    if not path.startswith("/") or "/../" in path + "/" or "\0" in path:
        return None, None
    full = os.path.join(root, path.lstrip("/"))
    try:
        with open(full, "rb") as f:
            return f.read(), TYPES.get(os.path.splitext(full)[1], "application/octet-stream")
    except (IsADirectoryError, FileNotFoundError, PermissionError, NotADirectoryError):
        return None, None


def _response(status, ctype, body, keep_alive, http10, head_only):
    lines = [b"HTTP/1.1 " + status, b"Server: posts", b"Date: " + http_date(),
             b"Content-Type: " + ctype.encode(), b"Content-Length: " + str(len(body)).encode()]
    if not keep_alive:
        lines.append(b"Connection: close")
    elif http10:
        lines.append(b"Connection: keep-alive")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head_only else body)


def respond(buf, root, allow_keep_alive=True):
    """Answers the complete requests at the start of `buf` (a bytearray) and removes them.
    Returns (response bytes, close): close is True when the connection must end after them.
    b"" with close False means: no complete request yet, read more."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                out.append(_response(b"431 Request Header Fields Too Large", "text/plain", b"", False, False, False))
                return b"".join(out), True
            return b"".join(out), False
        lines = bytes(buf[:end]).split(b"\r\n")
        parts = lines[0].split()
        length = 0
        connection = b""
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip() or b"0") if value.strip().isdigit() else -1
            elif name == b"connection":
                connection = value.strip().lower()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1.") or length < 0:
            out.append(_response(b"400 Bad Request", "text/plain", b"", False, False, False))
            return b"".join(out), True
        if len(buf) < end + 4 + length:
            return b"".join(out), False  # the body is still on its way
        del buf[:end + 4 + length]
        method, target, version = parts
        http10 = version == b"HTTP/1.0"
        keep_alive = allow_keep_alive and (connection == b"keep-alive" if http10 else connection != b"close")
        if method not in (b"GET", b"HEAD"):
            out.append(_response(b"501 Not Implemented", "text/plain", b"", False, http10, False))
            return b"".join(out), True
        body, ctype = _file(root, target)
        if body is None:
            out.append(_response(b"404 Not Found", "text/plain", b"Not found\n", keep_alive, http10,
                                 method == b"HEAD"))
        else:
            out.append(_response(b"200 OK", ctype, body, keep_alive, http10, method == b"HEAD"))
        if not keep_alive:
            return b"".join(out), True
        if not buf:
            return b"".join(out), False


def serve_requests(sock, root, allow_keep_alive=True, until_idle=False):
    """Blocking: answers requests on `sock` until the client closes or a response ends the
    connection. With until_idle, returns after the requests already read have been answered
    (the pools hand a connection back between requests). Returns True if the connection may
    stay open."""
    buf = bytearray()
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionError, TimeoutError):
            return False
        if not data:
            return False
        buf += data
        out, close = respond(buf, root, allow_keep_alive)
        if out:
            try:
                sock.sendall(out)
            except (ConnectionError, TimeoutError):
                return False
        if close:
            return False
        if until_idle and out and not buf:
            return True


def serve_connection(sock, root, allow_keep_alive=True):
    """Blocking: one connection from its first request to its end, then close it."""
    try:
        serve_requests(sock, root, allow_keep_alive)
    finally:
        sock.close()


def run_socketserver(server_class, args):
    """The socketserver designs: server_class (a TCPServer with a mixin) serves each connection
    with serve_requests, keep-alive included."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            serve_requests(self.request, args.root)

    server_class.allow_reuse_address = True
    server_class.request_queue_size = args.backlog
    with server_class((args.host, args.port), Handler) as server:
        server.serve_forever()


def self_test():
    """python3 httpcore.py self-test: respond() on pipelined, HTTP/1.0, HEAD, bad and partial
    requests against a temp docroot."""
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "hello.txt"), "wb") as f:
            f.write(b"Hello, world!")
        checks = [
            (b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n" * 2, [b"200 OK", b"200 OK"], False, b""),
            (b"GET /hello.txt HTTP/1.0\r\n\r\n", [b"200 OK", b"Connection: close"], True, b""),
            (b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", [b"Connection: keep-alive"], False, b""),
            (b"HEAD /hello.txt HTTP/1.1\r\n\r\n", [b"Content-Length: 13\r\n"], False, b""),
            (b"GET /../etc/passwd HTTP/1.1\r\n\r\n", [b"404 Not Found"], False, b""),
            (b"GET /hello.txt HTTP/1.1\r\nConnection: close\r\n\r\nGET /", [b"Connection: close"], True, b"GET /"),
            (b"GET /hello.txt HTTP/1.1\r\nHost:", [], False, b"GET /hello.txt HTTP/1.1\r\nHost:"),
            (b"BREW / HTCPCP/1.0\r\n\r\n", [b"400 Bad Request"], True, b"BREW / HTCPCP/1.0\r\n\r\n"),
            (b"POST /hello.txt HTTP/1.1\r\nContent-Length: 2\r\n\r\nab", [b"501"], True, b""),
        ]
        for raw, wants, want_close, left in checks:
            buf = bytearray(raw)
            out, close = respond(buf, root)
            for want in wants:
                if out.count(want) < wants.count(want):
                    raise SystemExit(f"self-test: {raw!r} -> {out!r}, no {want!r}")
            if close != want_close or bytes(buf) != left:
                raise SystemExit(f"self-test: {raw!r} -> close {close}, left {bytes(buf)!r}")
            if b"HEAD" in raw and out.endswith(b"Hello, world!"):
                raise SystemExit("self-test: HEAD got a body")
        print(f"httpcore self-test: {len(checks)} passed, 0 failed")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["self-test"]:
        self_test()
