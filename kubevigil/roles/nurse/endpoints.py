"""kubenurse's HTTP endpoints (/, /alive, /alwayshappy, /ready) and the matrix views, as aiohttp routes."""

from __future__ import annotations

import json
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kubevigil.core.hostport import split_host_port
from kubevigil.roles.nurse.probe import ORIGIN_HEADER
from kubevigil.roles.nurse.rounds import Round


class NurseState(Protocol):
    """What the endpoints read from the role."""

    pod_name: str
    latest: Round | None

    def saw_origin(self, origin: str) -> None: ...
    def unready_reason(self) -> str: ...
    def own_matrix(self) -> dict[str, Any]: ...
    async def cluster_matrix(self) -> dict[str, Any]: ...


def canonical_header(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey: `user-agent` -> `User-Agent`."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def routes(nurse: NurseState) -> list[web.RouteDef]:
    """The nurse's routes; `/` answers as /alive except to browsers, whose page comes with the web UI."""

    async def alive(request: web.Request) -> web.Response:
        latest = nurse.latest
        if latest is None:
            return web.Response(status=500, text="no round of checks has finished yet\n")
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(canonical_header(name), []).append(value)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        remote = (f"[{peer[0]}]:{peer[1]}" if ":" in str(peer[0]) else f"{peer[0]}:{peer[1]}") if peer else ""
        body = {
            "hostname": nurse.pod_name,
            "headers": dict(sorted(headers.items())),
            "user_agent": request.headers.get("User-Agent", ""),
            "request_uri": request.raw_path,
            "remote_addr": remote,
            "last_check_result": dict(sorted(latest.last_check_result().items())),
        }
        return web.Response(text=json.dumps(body, indent=1) + "\n", content_type="application/json")

    html_root: Callable[[web.Request], Awaitable[web.Response]] = alive  # the web page replaces this

    async def root(request: web.Request) -> web.Response:
        return await (html_root if wants_html(request) else alive)(request)

    async def always_happy(request: web.Request) -> web.Response:
        origin = request.headers.get(ORIGIN_HEADER)
        if origin:
            nurse.saw_origin(origin)
        return web.Response()

    async def ready(_: web.Request) -> web.Response:
        why = nurse.unready_reason()
        return web.Response(status=503, text=why + "\n") if why else web.Response()

    async def matrix(_: web.Request) -> web.Response:
        return web.json_response(nurse.own_matrix())

    async def cluster(_: web.Request) -> web.Response:
        return web.json_response(await nurse.cluster_matrix())

    return [web.get("/", root), web.get("/alive", alive), web.get("/alwayshappy", always_happy),
            web.get("/ready", ready), web.get("/api/matrix", matrix), web.get("/api/matrix/all", cluster)]


IN_FLIGHT_GRACE = 2.0  # seconds


async def serve(route_defs: Sequence[web.RouteDef], registry: CollectorRegistry, listen: str,
                tls: ssl.SSLContext | None = None, middlewares: Sequence[Any] = (),
                shutdown_timeout: float = 60.0) -> web.AppRunner:
    """A listener with these routes plus /metrics: kubenurse's 8443, and the demo's nurse pods; cleanup waits up to
    `shutdown_timeout` for requests in flight."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(middlewares=list(middlewares))
    app.add_routes([*route_defs, web.get("/metrics", metrics)])
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    host, port = split_host_port(listen)
    await web.TCPSite(runner, host, port, ssl_context=tls).start()
    return runner


def server_tls(cert_file: str, key_file: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx
