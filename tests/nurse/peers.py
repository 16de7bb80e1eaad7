"""Stand-ins for nurse pods on their own loopback addresses: real sockets that answer, stall, reset or refuse."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


def loopback_prefix() -> str:
    """A random 127.x.y. prefix, so parallel test runs (other engineers', other tests') never share an address."""
    rng = random.SystemRandom()
    return f"127.{rng.randint(100, 250)}.{rng.randint(0, 255)}."


@asynccontextmanager
async def http_peer(host: str, port: int = 8080, *, delay: float = 0.0, status: int = 200,
                    seen: list[dict[str, str]] | None = None) -> AsyncIterator[None]:
    """A peer answering every GET (after `delay`) with `status`, recording each request's headers in `seen`."""

    async def handler(request: web.Request) -> web.Response:
        if seen is not None:
            seen.append(dict(request.headers))
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        yield
    finally:
        await runner.cleanup()


@asynccontextmanager
async def silent_peer(host: str, port: int = 8080) -> AsyncIterator[None]:
    """Accepts connections and reads, but never answers (a hung process, a black-holed path)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, host, port)
    try:
        yield
    finally:
        server.close()
        for writer in held:
            writer.transport.abort()
        await server.wait_closed()


@asynccontextmanager
async def resetting_peer(host: str, port: int = 8080) -> AsyncIterator[None]:
    """Accepts, then resets the connection (RST, via SO_LINGER 0) once the request arrives."""

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(reset, host, port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()
