#!/usr/bin/python3
# Design "sequential": one connection at a time, in one thread. While it waits for a keep-alive
# client's next request nobody else would be served, so every response ends its connection
# (Connection: close) and the client reconnects for the next request.
from httpcore import listener, options, serve_connection


def main():
    args = options()
    lsock = listener(args)
    while True:
        conn, _ = lsock.accept()
        serve_connection(conn, args.root, allow_keep_alive=False)


if __name__ == "__main__":
    main()
