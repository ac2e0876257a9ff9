#!/usr/bin/python3
# Design "asyncio": one thread, asyncio.start_server and a coroutine per connection reading and
# writing through asyncio streams.
import asyncio

from httpcore import options, respond

ARGS = options()


async def handle(reader, writer):
    buf = bytearray()
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            buf += data
            out, close = respond(buf, ARGS.root)
            if out:
                writer.write(out)
                await writer.drain()
            if close:
                break
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, ARGS.host, ARGS.port, backlog=ARGS.backlog,
                                        reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
