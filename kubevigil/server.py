"""The one HTTP server of a process: /metrics, /healthz, /readyz and the routes roles add."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kubevigil.core.hostport import split_host_port
from kubevigil.core.readiness import Readiness

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

    app = web.Application()
    app.add_routes([web.get("/metrics", metrics), web.get("/healthz", healthz), web.get("/readyz", readyz)])
    app.add_routes(list(routes))
    return app


async def start(app: web.Application, listen: str) -> tuple[web.AppRunner, int]:
    """Bind and serve; returns the runner (for cleanup) and the bound port (useful with port 0)."""
    host, port = split_host_port(listen)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp exposes the bound socket only here
    sockets = getattr(server, "sockets", None) or ()
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    return runner, bound
