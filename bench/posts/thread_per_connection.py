#!/usr/bin/python3
# Design "threading": a new thread for every accepted connection, which serves it (keep-alive
# included) and ends.
import threading

from httpcore import listener, options, serve_connection


def main():
    args = options()
    lsock = listener(args)
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve_connection, args=(conn, args.root), daemon=True).start()


if __name__ == "__main__":
    main()
