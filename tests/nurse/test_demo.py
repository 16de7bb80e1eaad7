"""The nurse's demo part: a nurse per simulated node on its pod's loopback address, one node slow, one unreachable."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.resources import by_kind
from kubevigil.roles.nurse.demo import NETWORK, start_demo_nurses
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.democluster import node_manifest
from tests.conditions import eventually


@pytest_asyncio.fixture
async def workload_cluster(tmp_path: Path) -> AsyncIterator[tuple[Cluster, KubeApi]]:
    async with Cluster(workloads=True) as cluster:
        base = f"127.{random.SystemRandom().randint(100, 250)}"
        for i, zone in enumerate("abc"):
            manifest = node_manifest(f"ip-node-{i}", f"{base}.{i}.11", zone, f"i-{i:017x}", cluster.clock.now())
            cluster.store.create(by_kind("Node"), manifest)
        api = await connect(str(cluster.write_kubeconfig(tmp_path / "kubeconfig")))
        try:
            yield cluster, api
        finally:
            await api.aclose()


async def test_demo_nurses_show_a_slow_and_an_unreachable_node(workload_cluster: tuple[Cluster, KubeApi],
                                                               tmp_path: Path) -> None:
    _, api = workload_cluster
    nodes = sorted(n["metadata"]["name"] for n in (await api.list(by_kind("Node")))[0])
    healthy, slow, unreachable = nodes
    nurses = await start_demo_nurses(api, cluster_name="demo", state_dir=tmp_path / "state")
    try:
        annotated = {n["metadata"]["name"]: (n["metadata"].get("annotations") or {}).get(NETWORK)
                     for n in (await api.list(by_kind("Node")))[0]}
        assert annotated == {healthy: None, slow: "slow", unreachable: "unreachable"}
        await eventually(lambda: len(nurses.pods) == 3, timeout=60)
        watcher = next(p.role for p in nurses.pods.values() if p.role.ctx.pod.node_name == healthy)

        def seen() -> bool:
            latest = watcher.latest
            return bool(latest) and {f"path_{slow}", f"path_{unreachable}"} <= set(latest.outcomes) and \
                latest.outcomes[f"path_{unreachable}"].event == "timeout"

        await eventually(seen, timeout=60)
        outcomes = watcher.latest.outcomes
        assert outcomes[f"path_{slow}"].ok and outcomes[f"path_{slow}"].seconds >= 1.0
        assert outcomes["api_server_direct"].ok and outcomes["api_server_dns"].ok
        ip = watcher.ctx.pod.ip
        async with aiohttp.ClientSession() as session, session.get(f"http://{ip}:8080/api/matrix/all") as resp:
            merged = await resp.json()
        assert merged["sources"][unreachable]["reachable"] is False
        assert merged["matrix"][healthy][unreachable]["event"] == "timeout"
        assert merged["matrix"][slow][healthy]["ok"]
    finally:
        await nurses.stop()
