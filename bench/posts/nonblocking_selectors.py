#!/usr/bin/python3
# Design "non-blocking": one thread, non-blocking sockets multiplexed with selectors (epoll);
# each connection keeps its own input and output buffers.
import selectors

from httpcore import listener, options, respond


def main():
    args = options()
    lsock = listener(args)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    state = {}  # conn -> [input bytearray, pending output, close after output]

    def close(conn):
        sel.unregister(conn)
        del state[conn]
        conn.close()

    def flush(conn, st):
        try:
            sent = conn.send(st[1]) if st[1] else 0
        except BlockingIOError:
            sent = 0
        except ConnectionError:
            close(conn)
            return
        st[1] = st[1][sent:]
        if not st[1] and st[2]:
            close(conn)
        else:
            sel.modify(conn, selectors.EVENT_WRITE if st[1] else selectors.EVENT_READ)

    while True:
        for key, events in sel.select():
            conn = key.fileobj
            if conn is lsock:
                try:
                    new, _ = lsock.accept()
                except BlockingIOError:
                    continue
                new.setblocking(False)
                state[new] = [bytearray(), b"", False]
                sel.register(new, selectors.EVENT_READ)
                continue
            st = state[conn]
            if events & selectors.EVENT_WRITE:
                flush(conn, st)
                continue
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionError:
                data = b""
            if not data:
                close(conn)
                continue
            st[0] += data
            out, st[2] = respond(st[0], args.root)
            st[1] += out
            if st[1] or st[2]:
                flush(conn, st)


if __name__ == "__main__":
    main()
