# Minimal WSGI app that serves files from $BENCH_DOCROOT, so waitress and gunicorn can be
# measured on the same loads as the C servers.
import mimetypes
import os

ROOT = os.path.realpath(os.environ.get("BENCH_DOCROOT", "."))


def app(environ, start_response):
    path = os.path.realpath(os.path.join(ROOT, environ.get("PATH_INFO", "/").lstrip("/")))
    if not path.startswith(ROOT + os.sep) or not os.path.isfile(path):
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"Not found\n"]
    size = os.path.getsize(path)
    ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(size))])
    f = open(path, "rb")
    wrapper = environ.get("wsgi.file_wrapper")
    return wrapper(f, 65536) if wrapper else iter(lambda: f.read(65536), b"")
