# The accepting loop of the two pool designs: one thread accepts connections and watches the
# idle ones (selectors); each connection with a request waiting becomes one task for the pool,
# which answers it and hands the connection back. A task never waits for a keep-alive client's
# next request, so a pool smaller than the number of clients does not stall them.
import functools
import os
import selectors
import threading

from httpcore import listener, options, serve_requests


def serve_waiting_requests(sock, root, owned):
    """A pool task: answer what has arrived on `sock`. True when the connection stays open.
    `owned`: the task got its own copy of the socket (a process pool) and closes it."""
    try:
        sock.settimeout(10)  # a client that stops halfway through a request
        return serve_requests(sock, root, until_idle=True)
    finally:
        if owned:
            sock.close()


def main(executor_class, owned):
    """Runs the server with a pool of executor_class (--workers of them, 8 by default)."""
    args = options(workers=8)
    with executor_class(max_workers=args.workers) as executor:
        run(executor, args, owned)


def run(executor, args, owned):
    lsock = listener(args)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    sel.register(wake_r, selectors.EVENT_READ)
    done, lock = [], threading.Lock()

    def finished(conn, future):
        keep = not future.cancelled() and future.exception() is None and future.result()
        with lock:
            done.append((conn, keep))
        try:
            os.write(wake_w, b"x")
        except BlockingIOError:
            pass  # the loop has wake-ups pending already

    while True:
        for key, _ in sel.select():
            if key.fileobj is lsock:
                conn, _ = lsock.accept()
                sel.register(conn, selectors.EVENT_READ)
            elif key.fileobj == wake_r:
                os.read(wake_r, 4096)
                with lock:
                    items, done[:] = done[:], []
                for conn, keep in items:
                    if keep:
                        sel.register(conn, selectors.EVENT_READ)
                    else:
                        conn.close()
            else:
                conn = key.fileobj
                sel.unregister(conn)
                future = executor.submit(serve_waiting_requests, conn, args.root, owned)
                future.add_done_callback(functools.partial(finished, conn))
