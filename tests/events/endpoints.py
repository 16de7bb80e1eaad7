"""Pointing a loaded config at local fakes, and waiting on conditions, for the events end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from kubevigil.delivery.settings import DeliveryParams

# Retries fast enough that an outage of a second or two is waited out within a test.
FAST_DELIVERY = DeliveryParams(retry_base=0.05, retry_cap=0.2, batch_max_age=0.05, timeout=5)


def with_sink(settings: Any, name: str, delivery: DeliveryParams | None = None, **params: Any) -> Any:
    """`settings` with sink `name`'s params updated (an endpoint, a key) and optionally its delivery params."""
    entry = settings.sinks[name]
    field_name = next(f for f, info in type(entry).model_fields.items() if (info.alias or f) == entry.type)
    update: dict[str, Any] = {field_name: entry.params.model_copy(update=params)}
    if delivery is not None:
        update["delivery"] = delivery
    sinks = {**settings.sinks, name: entry.model_copy(update=update)}
    return settings.model_copy(update={"sinks": sinks})


def local_runtime_settings(settings: Any, kubeconfig: Path, state_dir: Path) -> Any:
    """`settings` running against the emulator, with state in `state_dir` and the server on a free loopback port."""
    cluster = settings.cluster.model_copy(update={"kubeconfig": kubeconfig})
    server = settings.server.model_copy(update={"listen": "127.0.0.1:0"})
    return settings.model_copy(update={"cluster": cluster, "server": server, "state_dir": state_dir,
                                       "shutdown_grace": 2.0})


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP server that records every request and answers 200 (or 503 while `down`)."""

    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    down: bool = False

    def at(self, prefix: str) -> list[Seen]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    async def handle(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({"error": "down"}, status=503)
        self.requests.append(Seen(request.path, dict(request.headers), await request.read()))
        if request.path.startswith("/slack"):
            return web.json_response({"ok": True, "ts": "1.0"})
        if request.path.startswith("/opsgenie"):
            return web.json_response({"result": "Request will be processed", "requestId": "r"}, status=202)
        return web.json_response({"ok": True})

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return runner


@contextlib.asynccontextmanager
async def child(config: Path, log: Path, **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """`kubevigil run --config config` in its own process, output appended to `log`; killed on exit if alive."""
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kubevigil.cli", "run", "--config", str(config),
            stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1", **env})
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
