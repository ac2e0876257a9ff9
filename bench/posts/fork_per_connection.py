#!/usr/bin/python3
# Design "forking": os.fork() for every accepted connection; the child serves it (keep-alive
# included) and exits, the parent only accepts and reaps.
import os
import signal

from httpcore import listener, options, serve_connection


def reap(_signum, _frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def main():
    args = options()
    lsock = listener(args)
    # Reaping right away keeps the children's CPU time in the parent's cutime/cstime.
    signal.signal(signal.SIGCHLD, reap)
    while True:
        conn, _ = lsock.accept()
        if os.fork() == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            lsock.close()
            serve_connection(conn, args.root)
            os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
