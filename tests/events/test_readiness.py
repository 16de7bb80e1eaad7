"""/readyz for the events role: ready once synced, not ready while the watch keeps failing, ready again after."""

from __future__ import annotations

from pathlib import Path

import yaml

from kubevigil.catalog import load
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually
from tests.events.endpoints import local_runtime_settings
from tests.kube.tcpproxy import TcpProxy


async def test_readiness_fails_while_the_watch_is_stale(tmp_path: Path) -> None:
    async with Cluster(workloads=False, bookmark_interval=0.2) as cluster:
        proxy = TcpProxy(int(cluster.url.rsplit(":", 1)[1]))
        await proxy.start()
        doc = cluster.kubeconfig()
        doc["clusters"][0]["cluster"]["server"] = proxy.url.replace("http://", "https://")
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(doc))
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({
            "sinks": {"out": {"file": {"path": str(tmp_path / "events.jsonl")}}},
            "leader_election": {"enabled": False},
            "events": {"stale_after_seconds": 0.5,
                       "route": {"routes": [{"match": [{"receiver": "out"}]}]}},
        }))
        settings = local_runtime_settings(load(tmp_path / "config.yaml").settings, tmp_path / "kubeconfig",
                                          tmp_path / "state")
        runtime = Runtime(settings, ["events"])
        await runtime.start()
        try:
            await eventually(lambda: runtime.readiness()["role:events"].ok)
            proxy.sever()
            await eventually(lambda: not runtime.readiness()["role:events"].ok, timeout=20)
            assert "the watch has been failing for" in runtime.readiness()["role:events"].detail
            proxy.restore()
            await eventually(lambda: runtime.readiness()["role:events"].ok, timeout=30)
        finally:
            await runtime.stop()
            await proxy.stop()
