"""The one HTTP server of a process: /metrics, /healthz, /readyz and the routes roles add."""

from __future__ import annotations

import errno
import socket
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kubevigil.core.hostport import split_host_port
from kubevigil.core.readiness import Readiness
from kubevigil.core.secrets import scrub
from kubevigil.core.startup import StartupError, os_reason

ReadinessProbe = Callable[[], dict[str, Readiness]]


def build_app(registry: CollectorRegistry, readiness: ReadinessProbe, routes: Sequence[web.RouteDef] = ()) -> web.Application:
    """An app serving the process's metrics, liveness, readiness and role routes."""

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        parts = readiness()
        body = {name: {"ok": r.ok, "detail": r.detail} for name, r in parts.items()}
        status = 200 if all(r.ok for r in parts.values()) else 503
        return web.json_response({"ready": status == 200, "parts": body}, status=status)

    app = web.Application(middlewares=[_no_secrets])
    app.add_routes([web.get("/metrics", metrics), web.get("/healthz", healthz), web.get("/readyz", readyz)])
    app.add_routes(list(routes))
    return app


@web.middleware
async def _no_secrets(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
    """Every answer (/status, /metrics, /api/…, the web page) leaves scrubbed of secrets: roles build their views
    from state that may quote an error text or a URL."""
    response = await handler(request)
    textual = response.content_type.startswith("text/") or response.content_type.endswith("json")
    if not (textual and isinstance(response, web.Response) and isinstance(response.body, bytes)):
        return response
    try:
        text = response.body.decode(response.charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        return response
    scrubbed = scrub(text)
    if scrubbed != text:
        response.body = scrubbed.encode(response.charset or "utf-8")
    return response


class ListenError(StartupError):
    """The server's address cannot be bound (in use, not on this machine, a privileged port)."""


def bind(listen: str) -> socket.socket:
    """A listening socket on "host:port", taken before anything else starts, so a port in use fails at once."""
    host, port = split_host_port(listen)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else os_reason(exc)
        raise ListenError(f"cannot listen on {listen}: {reason}") from None


IN_FLIGHT_GRACE = 5.0  # seconds


async def start(app: web.Application, sock: socket.socket) -> tuple[web.AppRunner, int]:
    """Serve on a socket from `bind`; returns the runner (for cleanup) and the bound port (useful with port 0)."""
    # Stopping waits at most IN_FLIGHT_GRACE for requests in flight (aiohttp's default is 60 s); the shutdown's
    # "unready, still answering" phase has already let load balancers move away.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=IN_FLIGHT_GRACE)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner, int(sock.getsockname()[1])
