"""A local HTTP receiver that records every request, answers as a test tells it, on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from kubevigil.core.signals import Record
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import Sink, SinkContext


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Seen] = field(default_factory=list)
    # (request number, Seen) -> (status, body); default 200 "{}"
    answer: Callable[[int, Seen], tuple[int, Any]] = lambda _n, _s: (200, {"ok": True})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(url="")

    async def handle(request: web.Request) -> web.Response:
        seen = Seen(request.method, request.path_qs, dict(request.headers), await request.read())
        rec.requests.append(seen)
        status, body = rec.answer(len(rec.requests), seen)
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield rec
    await runner.cleanup()


@pytest.fixture
def build(tmp_path: Path) -> Callable[..., Sink[Any]]:
    ctx = SinkContext(name="out", cluster_name="prod-eks", state_dir=tmp_path, registry=CollectorRegistry())

    def make(kind: str, **params: Any) -> Sink[Any]:
        spec = SINKS[kind]
        return spec.build(spec.params(**params), ctx)

    return make


def event(i: int, **extra: Any) -> Record:
    body = {
        "metadata": {"name": f"web-{i}.17f", "namespace": "shop", "uid": f"uid-{i}"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": f"web-{i}", "labels": {"app": "web"}},
        "reason": "BackOff", "message": f"Back-off restarting failed container {i}", "type": "Warning",
        "count": i + 1, "source": {"component": "kubelet", "host": "ip-10-0-1-11"}, "clusterName": "prod-eks",
        **extra,
    }
    return Record(f"uid-{i}-{i + 1}", 1_763_800_000.0 + i, body)
