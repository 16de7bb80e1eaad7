"""Local peers for the probes, on 127.0.0.1 with ephemeral ports: an HTTP(S) app and raw TCP servers that misbehave."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Self

from aiohttp import web

SECRET_TOKEN = "s3cr3t-token-value"


def http_app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="status: all systems ok\n")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status page\n")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query["seconds"]))
        return web.Response(text="late but ok\n")

    async def hang(request: web.Request) -> web.Response:
        await asyncio.Event().wait()  # until the client gives up and the server cancels the handler
        raise AssertionError("unreachable")

    async def private(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SECRET_TOKEN}":
            return web.Response(status=401, text="who are you\n")
        return web.Response(text="welcome\n")

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(64):  # 4 MiB, more than a probe reads
            await resp.write(b"x" * 65536)
        await resp.write(b"needle")
        return resp

    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=f"{request.method} {await request.text()}")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    app = web.Application()
    app.add_routes([web.get("/ok", ok), web.get("/status/{code}", status), web.get("/slow", slow),
                    web.get("/hang", hang), web.get("/private", private), web.get("/big", big),
                    web.route("*", "/echo", echo), web.get("/redirect", redirect)])
    return app


@asynccontextmanager
async def serve(app: web.Application, ssl_context: ssl.SSLContext | None = None,
                host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve `app` on an ephemeral port; yields the base URL."""
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"{'https' if ssl_context else 'http'}://{host}:{port}"
    finally:
        await runner.cleanup()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A TCP server running `handler` per connection; counts connections still open (a leak check)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.open = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.accepted += 1
        try:
            await self._handler(reader, writer)
            # Wait for the client to close its side: "open" then counts connections the client left open.
            while await reader.read(4096):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def reset_after_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request head, then close with a TCP RST (SO_LINGER 0)."""
    await reader.readuntil(b"\r\n\r\n")
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def cut_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Promise 100 bytes, send 10, hang up."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n0123456789")
    await writer.drain()
    writer.close()


async def pong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A line protocol: PING -> +PONG."""
    line = await reader.readline()
    writer.write(b"+PONG\r\n" if line.strip() == b"PING" else b"-ERR unknown\r\n")
    await writer.drain()


async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-probe-test\r\n")
    await writer.drain()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and say nothing until the client leaves."""


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()
