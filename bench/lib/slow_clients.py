#!/usr/bin/env python3
"""Slow clients for bench/proxy.sh's slow load: N connections that are slow in one way, each
reconnecting when its exchange ends, until DURATION seconds have passed.

usage: slow_clients.py KIND N PORT DURATION
  headers  send a GET head one piece every 0.5 s (about 10 s for the head)
  uploads  POST 1 MiB to /echo at 16 KiB/s
  readers  GET /big (8 MiB) through a 16 KiB receive buffer, reading 16 KiB every 0.1 s
Prints one line: kind, connections opened, exchanges completed, exchanges cut.
"""
import asyncio
import socket
import sys

KIND, N, PORT, DURATION = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
stats = {"opened": 0, "completed": 0, "cut": 0}


async def open_conn():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if KIND == "readers":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", PORT))
    stats["opened"] += 1
    return await asyncio.open_connection(sock=sock, limit=65536)


async def one(index):
    reader, writer = await open_conn()
    try:
        if KIND == "headers":
            head = (b"GET /hello HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow-headers\r\n"
                    b"X-Slow: " + b"h" * 40 + b"\r\nConnection: close\r\n\r\n")
            for i in range(0, len(head), 6):
                writer.write(head[i:i + 6])
                await writer.drain()
                await asyncio.sleep(0.5)
        elif KIND == "uploads":
            size = 1 << 20
            writer.write(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n" % size)
            piece = b"u" * 1638
            for _ in range(size // len(piece)):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.1)
            writer.write(b"u" * (size % len(piece)))
            await writer.drain()
        else:
            writer.write(b"GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            await writer.drain()
            while True:
                data = await reader.read(16384)
                if not data:
                    break
                await asyncio.sleep(0.1)
            stats["completed"] += 1
            return
        data = await reader.read()
        stats["completed" if data.startswith(b"HTTP/1.1 200") else "cut"] += 1
    except (ConnectionError, OSError):
        stats["cut"] += 1
    finally:
        writer.close()


async def client(index, deadline):
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        try:
            await asyncio.wait_for(one(index), deadline - loop.time())
        except asyncio.TimeoutError:
            return
        except OSError:
            stats["cut"] += 1
            await asyncio.sleep(0.1)


async def main():
    deadline = asyncio.get_running_loop().time() + DURATION
    await asyncio.gather(*(client(i, deadline) for i in range(N)), return_exceptions=True)
    print("%s opened=%d completed=%d cut=%d" % (KIND, stats["opened"], stats["completed"],
                                               stats["cut"]))


asyncio.run(main())
