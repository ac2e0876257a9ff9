#!/usr/bin/python3
# Design "forking": socketserver.ForkingTCPServer, a process per connection from the standard
# library. Its max_children of 40 is raised to 128: with more keep-alive connections than that
# (hey -c 50) the server would stop accepting until a child exits, and hey's clients would hang.
import socketserver

from httpcore import options, run_socketserver


class Server(socketserver.ForkingTCPServer):
    max_children = 128


if __name__ == "__main__":
    run_socketserver(Server, options())
