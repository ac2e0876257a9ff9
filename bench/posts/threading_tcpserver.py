#!/usr/bin/python3
# Design "threading": socketserver.ThreadingTCPServer, a thread per connection from the standard
# library.
import socketserver

from httpcore import options, run_socketserver


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True


if __name__ == "__main__":
    run_socketserver(Server, options())
