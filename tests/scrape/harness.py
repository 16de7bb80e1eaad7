"""The scrape role for real: emulator pods on loopback addresses, exporters on those addresses, delivery to moto."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from kubevigil.core.clock import ManualClock
from kubevigil.core.signals import Metric, Signal
from kubevigil.delivery.delivery import Delivery
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.resources import by_kind
from kubevigil.roles.role import PodIdentity, RoleContext
from kubevigil.roles.scrape.config import ScrapeSection
from kubevigil.roles.scrape.role import ScrapeRole
from kubevigil.sinks.aws import AwsParams, make_client
from kubevigil.sinks.cloudwatch import Params
from kubevigil.sinks.cloudwatch.sink import CloudWatchSink
from kubevigil.sinks.sink import SinkContext
from tests.conditions import eventually

POD = by_kind("Pod")
Body = bytes | Callable[[], bytes] | None  # None: hang until the client gives up


class Exporters:
    """One HTTP server per loopback address, all on one port; each answers what the test puts in `bodies`."""

    def __init__(self) -> None:
        self.bodies: dict[str, Body] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._prefix = ""
        self.hits: dict[str, int] = {}

    async def start(self, count: int) -> list[str]:
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        for _ in range(20):  # another test run may hold an address: pick another random block
            self._prefix = f"127.{random.randint(64, 250)}.{random.randint(0, 255)}."
            try:
                await self._bind(self._ip(0), 0)
                self.port = self._runner.addresses[0][1]
                for i in range(1, count):
                    await self._bind(self._ip(i), self.port)
                return [self._ip(i) for i in range(count)]
            except OSError:
                for site in list(self._runner.sites):
                    await site.stop()
        raise AssertionError("no free loopback block")

    def _ip(self, i: int) -> str:
        return f"{self._prefix}{10 + i}"

    async def add(self) -> str:
        ip = self._ip(len(self._runner.sites) if self._runner else 0)
        await self._bind(ip, self.port)
        return ip

    async def _bind(self, ip: str, port: int) -> None:
        assert self._runner is not None
        await web.TCPSite(self._runner, ip, port).start()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ip = request.transport.get_extra_info("sockname")[0] if request.transport else ""
        self.hits[ip] = self.hits.get(ip, 0) + 1
        return await self.respond(ip)

    async def respond(self, key: str) -> web.StreamResponse:
        body = self.bodies.get(key, b"")
        if body is None:
            await asyncio.sleep(3600)
        data = body() if callable(body) else body
        return web.Response(body=data, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def add_pod(store: Any, name: str, ip: str, node: str) -> dict[str, Any]:
    """An aws-node pod, Running and Ready on `node` with IP `ip` (set through the status subresource)."""
    pod = store.create(POD, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system", "labels": {"k8s-app": "aws-node"}},
        "spec": {"nodeName": node, "hostNetwork": True, "containers": [{"name": "aws-node", "image": "cni:1"}]}})
    pod["status"] = {"phase": "Running", "podIP": ip, "hostIP": ip,
                     "conditions": [{"type": "Ready", "status": "True"}]}
    return store.replace_status(POD, pod)  # type: ignore[no-any-return]


@dataclass
class Recorder:
    """An outlet that keeps every cycle it is handed, for exact assertions."""

    name: str = "mem"
    kinds: frozenset[str] = frozenset({"metric"})
    puts: list[list[Metric]] = field(default_factory=list)

    async def put(self, items: Sequence[Signal]) -> None:
        self.puts.append([m for m in items if isinstance(m, Metric)])

    def values(self, n: int) -> dict[str, float]:
        """Cycle n's values as name{dims} -> value, the cluster dimension left out."""
        out = {}
        for m in self.puts[n]:
            dims = ",".join(f"{k}={v}" for k, v in m.dimensions if k != "CLUSTER_ID")
            out[m.name + (f"{{{dims}}}" if dims else "")] = m.value
        return out


@dataclass
class Running:
    role: ScrapeRole
    recorder: Recorder
    clock: ManualClock
    registry: CollectorRegistry
    api: KubeApi
    namespace: str


@contextlib.asynccontextmanager
async def scrape_role(kubeconfig: Path, section: dict[str, Any], state_dir: Path, endpoint: str | None = None,
                      environ: dict[str, str] | None = None, registry: CollectorRegistry | None = None,
                      outlets: dict[str, Any] | None = None) -> AsyncIterator[Running]:
    """The role with a Recorder outlet `mem` and, given moto's endpoint, a cloudwatch sink `cw` through delivery."""
    registry = registry or CollectorRegistry()
    clock = ManualClock(start=time.time())
    recorder = Recorder()
    outlets = {"mem": recorder, **(outlets or {})}
    namespace = f"Test/Scrape/{uuid.uuid4().hex[:8]}"
    dlv = None
    if endpoint:
        sink = CloudWatchSink(Params(namespace=namespace, endpoint_url=endpoint, connect_timeout=1, read_timeout=5),
                              SinkContext("cw", "test", state_dir, registry))
        dlv = Delivery({"cw": (sink, DeliveryParams(retry_base=0.1, retry_cap=0.5, batch_max_age=0.05, timeout=5))},
                       state_dir=state_dir, clock=clock, registry=registry)
        await dlv.start()
        outlets.update(dlv.outlets)
    api = await connect(str(kubeconfig))
    ctx = RoleContext(cluster_name="test", api=api, outlets=outlets, clock=clock, registry=registry,
                      state_dir=state_dir, pod=PodIdentity("test"))
    role = ScrapeRole(ScrapeSection.model_validate(section), ctx, environ=environ or {})
    task = asyncio.create_task(role.run())
    try:
        yield Running(role, recorder, clock, registry, api, namespace)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if dlv is not None:
            await dlv.shutdown(5.0)
        await api.aclose()


async def next_cycle(run: Running, interval: float) -> None:
    """Move the clock to the next cycle and wait until its values were handed over."""
    before = len(run.recorder.puts)
    await run.clock.advance(interval)
    await eventually(lambda: len(run.recorder.puts) > before, what="the next cycle")


def datapoints(endpoint: str, namespace: str, metric: str, dims: dict[str, str]) -> list[dict[str, Any]]:
    cw = make_client("cloudwatch", AwsParams(endpoint_url=endpoint))
    now = datetime.now(UTC)
    out = cw.get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=30), Period=1,
        Statistics=["Maximum", "SampleCount"])
    return sorted(out["Datapoints"], key=lambda p: p["Timestamp"])
