#!/usr/bin/env python3
"""Idle TLS keep-alive client for the bench's tls-idle load: the TLS twin of idle_conns.c.

Opens COUNT TLS connections (at most 64 handshakes in flight), completes the handshake on each,
sends one GET, reads the whole response, then holds every connection open (idle) until
SIGTERM/SIGINT or HOLD seconds, noting connections the server closes meanwhile. Session
resumption is off (every connection is a full handshake, like a crowd of distinct clients).

usage: idle_tls.py HOST PORT PATH COUNT HOLD_SECONDS
prints: READY opened=N ok=N failed=N timeouts=N non200=N seconds=S   (once all are set up)
        DONE alive=N closed_by_server=N                               (at the end)
"""
import asyncio
import signal
import ssl
import sys
import time

WINDOW = 64
RESPONSE_TIMEOUT = 5.0
SETUP_TIMEOUT = 120.0


async def open_one(host, port, path, ctx, sem, stats, held):
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=ctx, server_hostname="localhost"),
                RESPONSE_TIMEOUT)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), RESPONSE_TIMEOUT)
        except asyncio.TimeoutError:
            stats["timeouts"] += 1
            return
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            stats["failed"] += 1
            return
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        try:
            await asyncio.wait_for(reader.readexactly(length), RESPONSE_TIMEOUT)
        except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError, ssl.SSLError):
            stats["failed"] += 1
            return
        if not lines[0].startswith("HTTP/1.1 200"):
            stats["non200"] += 1
        stats["ok"] += 1
        held.append((reader, writer))


async def watch_closed(reader, stats):
    try:
        data = await reader.read(512)
    except (OSError, ssl.SSLError):
        data = b""
    if not data:
        stats["closed"] += 1


async def main():
    if len(sys.argv) != 6:
        sys.exit("usage: idle_tls.py HOST PORT PATH COUNT HOLD_SECONDS")
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    count, hold = int(sys.argv[4]), float(sys.argv[5])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    stats = {"ok": 0, "failed": 0, "timeouts": 0, "non200": 0, "closed": 0}
    held = []
    sem = asyncio.Semaphore(WINDOW)
    start = time.monotonic()
    tasks = [asyncio.ensure_future(open_one(host, port, path, ctx, sem, stats, held))
             for _ in range(count)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), SETUP_TIMEOUT)
    except asyncio.TimeoutError:
        pass
    print(f"READY opened={count} ok={stats['ok']} failed={stats['failed']} "
          f"timeouts={stats['timeouts']} non200={stats['non200']} "
          f"seconds={time.monotonic() - start:.2f}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watchers = [asyncio.ensure_future(watch_closed(r, stats)) for r, _ in held]
    try:
        await asyncio.wait_for(stop.wait(), hold)
    except asyncio.TimeoutError:
        pass
    closed = stats["closed"]
    print(f"DONE alive={len(held) - closed} closed_by_server={closed}", flush=True)
    for w in watchers:
        w.cancel()
    for _, writer in held:
        writer.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
