"""CloudWatch goes away and comes back: the role keeps running and the heartbeat resumes, nothing lost."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from structlog.testing import capture_logs

from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import datapoints, deployment, heartbeat, namespace, seed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def own_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """A moto server of this test's own (the shared one must not be stopped); yields (endpoint, port)."""
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "eu-west-1"), ("AWS_EC2_METADATA_DISABLED", "true")):
        monkeypatch.setenv(key, value)
    port = free_port()
    yield f"http://127.0.0.1:{port}", port


async def test_cloudwatch_down_then_back(sim_cluster: Cluster, sim_kubeconfig: Path, own_moto: tuple[str, int],
                                         tmp_path: Path) -> None:
    endpoint, port = own_moto
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("shop"), deployment("web", "shop", 1))
    section = {"seconds": 1, "metric": {"name": "Outage"},
               "targets": [{"kind": "Deployment", "namespace": "shop", "name": "web"}]}
    dims = {"Cluster": "test"}
    try:
        with capture_logs() as logs:
            async with heartbeat(sim_kubeconfig, section, endpoint, tmp_path) as hb:
                await eventually(lambda: datapoints(endpoint, "Outage", dims), what="first datapoint")
                server.stop()
                down_at = time.time()
                before = hb.role.publishes
                await eventually(lambda: hb.role.publishes >= before + 3, what="publishing during the outage")
                assert not hb.task.done()
                await eventually(lambda: any(e.get("event") == "sink failing, retrying" for e in logs),
                               what="delivery logging the failure")
                up_at = time.time()
                server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
                server.start()
                # Values taken while CloudWatch was down arrive with their own timestamps once it is back.
                await eventually(lambda: [p for p in datapoints(endpoint, "Outage", dims)
                                        if down_at + 0.5 < p["Timestamp"].timestamp() < up_at],
                               timeout=20, what="values from the outage delivered")
                assert not hb.task.done()
    finally:
        server.stop()
