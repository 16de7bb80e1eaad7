"""The proxy path through the emulator's pods/proxy, the Prometheus output, and the demo cluster's ipamd."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from kubevigil.core.clock import ManualClock
from kubevigil.kube.client import connect
from kubevigil.roles.scrape.exposition import Wanted, parse
from kubevigil.roles.scrape.presets import CNI_METRICS_HELPER
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.ipamd import RESTART_PERIOD, Ipamd, demo_ipamd
from kubevigil.sinks.prometheus import Params as PromParams
from kubevigil.sinks.prometheus.sink import PrometheusSink
from kubevigil.sinks.sink import SinkContext
from tests.conditions import eventually

from .harness import add_pod, next_cycle, scrape_role

INTERVAL = 10.0
CNI = Wanted.of(r.metric for r in CNI_METRICS_HELPER)


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False) as c:
        yield c


async def test_proxy_path_through_the_emulator(cluster: Cluster, tmp_path: Path,
                                               anchor_scrapes: tuple[str, str]) -> None:
    served: list[str] = []

    def handler(body: str):  # type: ignore[no-untyped-def]
        async def handle(request: web.Request) -> web.Response:
            served.append(request.path)
            return web.Response(text=body, content_type="text/plain")
        return handle

    for i, body in enumerate(anchor_scrapes):
        # A pod IP nothing listens on: only the API server's proxy reaches the exporter.
        add_pod(cluster.store, f"aws-node-{i}", "127.0.0.1", f"node-{i}")
        cluster.register_proxy("Pod", "kube-system", f"aws-node-{i}", handler(body))
    section = {"cluster_id": "c", "sinks": ["mem"],
               "jobs": [{"name": "aws-node", "via": "proxy", "port": 1, "interval": INTERVAL, "timeout": 5}]}
    async with scrape_role(cluster.write_kubeconfig(tmp_path / "kc"), section, tmp_path / "state") as run:
        await eventually(lambda: run.recorder.puts, what="first cycle")
        assert run.recorder.values(0)["totalIPAddresses"] == 26
        assert served == ["/metrics", "/metrics"]


async def test_prometheus_sinks_get_gauges_and_cluster_counters(cluster: Cluster, tmp_path: Path) -> None:
    bodies = {"aws-node-0": 3, "aws-node-1": 5}

    def handler(name: str):  # type: ignore[no-untyped-def]
        async def handle(_: web.Request) -> web.Response:
            adds = bodies[name]
            return web.Response(text=f"# TYPE awscni_eni_max gauge\nawscni_eni_max 3\n"
                                     f"# TYPE awscni_add_ip_req_count counter\nawscni_add_ip_req_count {adds}\n")
        return handle

    for name in bodies:
        add_pod(cluster.store, name, "127.0.0.1", "n")
        cluster.register_proxy("Pod", "kube-system", name, handler(name))
    section = {"cluster_id": "c", "sinks": ["mem"], "prometheus_sinks": ["prom"],
               "jobs": [{"name": "aws-node", "via": "proxy", "interval": INTERVAL, "timeout": 5}]}
    registry = CollectorRegistry()
    sink = PrometheusSink(PromParams(prefix=""), SinkContext("prom", "t", tmp_path, registry))
    await sink.start()
    async with scrape_role(cluster.write_kubeconfig(tmp_path / "kc"), section, tmp_path / "state",
                           registry=registry, outlets={"prom": _Direct(sink)}) as run:
        await eventually(lambda: run.recorder.puts, what="first cycle")
        await next_cycle(run, INTERVAL)
        bodies.update({"aws-node-0": 10, "aws-node-1": 6})
        await next_cycle(run, INTERVAL)
        text = generate_latest(run.registry).decode()
        assert 'awscni_eni_max{CLUSTER_ID="c"} 6.0' in text  # the original's gauge name, cluster sum
        assert 'awscni_add_ip_req_count_total{CLUSTER_ID="c"} 8.0' in text  # a true cluster counter: 0 + (7 + 1)


class _Direct:
    """An outlet straight into a sink (no journal), for checking what a prometheus sink exposes."""

    name = "prom"
    kinds = frozenset({"metric"})

    def __init__(self, sink: PrometheusSink) -> None:
        self.sink = sink

    async def put(self, items):  # type: ignore[no-untyped-def]
        await self.sink.send(list(items))


async def test_demo_ipamd_serves_pods_on_loopback_and_proxy(cluster: Cluster, tmp_path: Path) -> None:
    async with demo_ipamd(cluster) as ipamd:
        add_pod(cluster.store, "aws-node-a", "127.0.0.1", "node-a")  # port 61678 there may be taken: proxy only
        add_pod(cluster.store, "aws-node-b", "10.0.1.11", "node-b")  # not loopback: never bound
        await eventually(lambda: len(ipamd.pods) == 2, what="pods followed")
        assert "10.0.1.11" not in ipamd._sites
        api = await connect(str(cluster.write_kubeconfig(tmp_path / "kc")))
        try:
            ctype, body = await api.get_bytes("/api/v1/namespaces/kube-system/pods/aws-node-b:61678/proxy/metrics",
                                              timeout=5, max_bytes=1_000_000)
        finally:
            await api.aclose()
        families = parse(body, ctype, CNI)
        assert families["awscni_total_ip_addresses"].samples[0].value in (10, 16)
        cluster.store.delete(cluster.store.resource("v1", "Pod"), "kube-system", "aws-node-b")
        await eventually(lambda: len(ipamd.pods) == 1, what="deleted pod dropped")
        assert ("Pod", "kube-system", "aws-node-b") not in cluster.settings.proxies


def test_demo_ipamd_counters_rise_and_one_pod_restarts() -> None:
    clock = ManualClock()
    steady, restarting = Ipamd(0, clock.now()), Ipamd(2, clock.now(), restarts=True)

    def adds(ipamd: Ipamd, at: float) -> float:
        families = parse(ipamd.render(at).encode(), "text/plain", CNI)
        return families["awscni_add_ip_req_count"].samples[0].value

    t0 = clock.now()
    assert adds(steady, t0) == 100 and adds(steady, t0 + 60) > 100
    before, after = adds(restarting, t0 + RESTART_PERIOD - 1), adds(restarting, t0 + RESTART_PERIOD + 1)
    assert after < before  # a counter reset the scrape role must see
    latency = parse(steady.render(t0).encode(), "text/plain", CNI)["awscni_aws_api_latency_ms"]
    assert any(math.isnan(s.value) for s in latency.samples)
