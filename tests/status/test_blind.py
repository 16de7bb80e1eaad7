"""The API server goes away: the heartbeat never says healthy from a stale view, /status and /readyz say why."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from kubevigil.roles.role import readiness_of
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually
from tests.kube.conftest import proxied_kubeconfig
from tests.kube.tcpproxy import TcpProxy, proxy_to

from .harness import Running, datapoints, deployment, heartbeat, namespace, seed

BOUND = 2.0  # status.stale_after_seconds in these tests


@pytest.fixture
async def proxy(sim_cluster: Cluster) -> AsyncIterator[TcpProxy]:
    async with proxy_to(int(sim_cluster.url.rsplit(":", 1)[1])) as p:
        yield p


@pytest.fixture
def kubeconfig(sim_cluster: Cluster, proxy: TcpProxy, tmp_path: Path) -> Path:
    """The emulator reached through a proxy the test can cut: the API server "goes away" without stopping."""
    return proxied_kubeconfig(sim_cluster, proxy, tmp_path / "kubeconfig")


def section(name: str, when_stale: str) -> dict:
    return {"seconds": 0.5, "metric": {"name": name}, "per_target": True, "stale_after_seconds": BOUND,
            "when_stale": when_stale, "targets": [{"kind": "Deployment", "namespace": "shop", "name": "web"}]}


async def blind_for_a_while(hb: Running) -> float:
    """Wait until the view has been stale for a few intervals past the bound; returns when the last contact was."""
    await eventually(lambda: hb.role.withheld, timeout=30, what="the heartbeat withheld")
    informer = hb.role.informers()[0]
    await eventually(lambda: informer.stale_for() > BOUND + 1.5, timeout=30, what="three more intervals")
    return time.time() - informer.stale_for()


async def test_skip_publishes_nothing_while_blind_then_resumes(sim_cluster: Cluster, proxy: TcpProxy,
                                                               kubeconfig: Path, aws_env: str, tmp_path: Path) -> None:
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("shop"), deployment("web", "shop", 1))
    dims = {"Cluster": "test"}
    async with heartbeat(kubeconfig, section("BlindSkip", "skip"), aws_env, tmp_path) as hb:
        await eventually(lambda: hb.role.published_value == 1 and readiness_of(hb.role).ok, what="healthy and ready")
        with capture_logs() as logs:
            proxy.sever()
            last_contact = await blind_for_a_while(hb)
            publishes = hb.role.publishes
            ready = readiness_of(hb.role)
            assert not ready.ok and "has not heard from" in ready.detail
            view = hb.role.status()
            assert view["value"] is None and view["published_value"] == 1
            assert "stale view" in view["withheld"] and "stale after 2s" in view["withheld"]
            assert view["targets"][0]["stale_seconds"] > BOUND
            await eventually(lambda: hb.role.informers()[0].stale_for() > BOUND + 2.5, what="one more interval")
            assert hb.role.publishes == publishes  # nothing went out while blind
            restored_at = time.time()
            proxy.restore()
            await eventually(lambda: hb.role.publishes > publishes and hb.role.published_value == 1, timeout=30,
                           what="publishing resumes")
            assert readiness_of(hb.role).ok and hb.role.status()["withheld"] is None
        stale = [e for e in logs if e["event"].startswith("view of the cluster is stale")]
        assert len(stale) == 1 and stale[0]["log_level"] == "warning" and stale[0]["when_stale"] == "skip"
        assert any(e["event"].startswith("view of the cluster is fresh again") and e["log_level"] == "info"
                   for e in logs)
        # What CloudWatch received: no 1 derived from a view older than the bound, for the heartbeat or the target.
        await eventually(lambda: datapoints(aws_env, "BlindSkip", dims), what="datapoints in moto")
        for dims_ in (dims, {**dims, "target": "Deployment/shop/web"}):
            points = datapoints(aws_env, "BlindSkip", dims_)
            assert points[0]["Maximum"] == 1.0
            # Per-second buckets start at or before their values: a bucket past the bound holds only later values.
            blind = [p for p in points if last_contact + BOUND + 0.05 < p["Timestamp"].timestamp() < restored_at - 1]
            assert blind == []


async def test_zero_publishes_zero_while_blind(sim_cluster: Cluster, proxy: TcpProxy, kubeconfig: Path,
                                               aws_env: str, tmp_path: Path) -> None:
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("shop"), deployment("web", "shop", 1))
    async with heartbeat(kubeconfig, section("BlindZero", "zero"), aws_env, tmp_path) as hb:
        await eventually(lambda: hb.role.published_value == 1, what="healthy")
        proxy.sever()
        await blind_for_a_while(hb)
        publishes = hb.role.publishes
        await eventually(lambda: hb.role.publishes >= publishes + 2, what="publishing goes on")
        assert hb.role.published_value == 0 and hb.role.value == 0
        assert hb.registry.get_sample_value("kubevigil_status_healthy") == 0.0
        assert hb.registry.get_sample_value("kubevigil_status_stale_targets") == 1.0
        assert hb.registry.get_sample_value("kubevigil_status_target_healthy",
                                                 {"target": "Deployment/shop/web"}) == 0.0
        proxy.restore()
        await eventually(lambda: hb.role.published_value == 1, timeout=30, what="healthy again")
