"""kubestatus2cloudwatch's own files, unchanged, run by the kubevigil runtime and publish the same metric."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from kubevigil.catalog import load
from kubevigil.config import find_config_path
from kubevigil.config.settings import ServerSettings
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from kubevigil.sinks.aws import AwsParams, make_client
from tests.anchors import ANCHORS as ANCHOR_DIR
from tests.conditions import eventually

from .harness import namespace, seed

ANCHORS = ANCHOR_DIR / "kubestatus2cloudwatch"


def statefulset(name: str, namespace: str, replicas: int) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "annotations": {"sim.kubevigil.io/ready-after": "200ms"}},
        "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": f"example/{name}:1"}]}}},
    }


@pytest.mark.parametrize(("anchor", "dims"), [
    ("config-example.yaml", {"Cluster": "MyCluster"}),
    ("config-minimal.yaml", {}),
])
async def test_anchor_config_runs_and_publishes(sim_cluster: Cluster, sim_kubeconfig: Path, aws_env: str,
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anchor: str,
                                                dims: dict[str, str]) -> None:
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("observability"))
    sts = by_kind("StatefulSet")
    sim_cluster.store.create(sts, statefulset("prometheus", "observability", 2))
    await eventually(lambda: (sim_cluster.store.get(sts, "observability", "prometheus").get("status") or {}).get(
        "readyReplicas") == 2, what="prometheus ready in the emulator")
    started = datetime.now(UTC)
    # Found the way kubestatus2cloudwatch finds it; the endpoint and cluster come from the standard environment.
    shutil.copy(ANCHORS / anchor, tmp_path / "ks2cw.yaml")
    monkeypatch.setenv("KS2CW_CONFIG_PATH", str(tmp_path / "ks2cw.yaml"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
    monkeypatch.setenv("KUBECONFIG", str(sim_kubeconfig))
    loaded = load(find_config_path(None))
    settings = loaded.settings.model_copy(update={"server": ServerSettings(listen="127.0.0.1:0"),
                                                  "state_dir": tmp_path / "state"})
    runtime = Runtime(settings, settings.roles_enabled())
    await runtime.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            async def status() -> dict:
                async with http.get(f"http://127.0.0.1:{runtime.port}/status") as resp:
                    return await resp.json()

            body = await eventually(lambda: _healthy(status()), what="/status healthy")
            assert body["targets"][0]["id"] == "StatefulSet/observability/prometheus"
        cw = make_client("cloudwatch", AwsParams())
        def points() -> list[dict]:
            return cw.get_metric_statistics(
                Namespace="MyNamespace", MetricName="MyMetric",
                Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()], StartTime=started - timedelta(seconds=1),
                EndTime=started + timedelta(minutes=5), Period=60, Statistics=["Maximum"])["Datapoints"]

        assert (await eventually(points, what="MyNamespace/MyMetric with the file's dimensions"))[0]["Maximum"] == 1.0
    finally:
        await runtime.stop()


async def test_dry_run_anchor_prints_the_heartbeat_and_puts_nothing(
        sim_cluster: Cluster, sim_kubeconfig: Path, aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`dryRun: true` (the original skips PutMetricData) is a stdout sink: each heartbeat a JSON line, nothing sent."""
    seed(sim_cluster.store, namespace("observability"))
    started = datetime.now(UTC)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
    monkeypatch.setenv("KUBECONFIG", str(sim_kubeconfig))
    loaded = load(ANCHORS / "upstream" / "test-config-3-success.yaml")
    assert any(w.startswith("dryRun: true: kubevigil puts nothing to CloudWatch") for w in loaded.warnings)
    settings = loaded.settings.model_copy(update={"server": ServerSettings(listen="127.0.0.1:0"),
                                                  "state_dir": tmp_path / "state"})
    runtime = Runtime(settings, settings.roles_enabled())
    await runtime.start()
    printed: list[dict] = []
    try:
        def heartbeats() -> list[dict]:
            printed.extend(json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{"))
            return [p for p in printed if p.get("name") == "MyMetric"]

        (first, *_) = await eventually(heartbeats, what="a heartbeat line on stdout")
    finally:
        await runtime.stop()
    # The StatefulSet does not exist: the heartbeat is 0, with the file's own dimensions.
    assert first["value"] == 0.0 and first["dimensions"] == {"Cluster": "MyCluster"}
    cw = make_client("cloudwatch", AwsParams())  # the moto server other tests publish MyNamespace/MyMetric to
    assert cw.get_metric_statistics(
        Namespace="MyNamespace", MetricName="MyMetric", Dimensions=[{"Name": "Cluster", "Value": "MyCluster"}],
        StartTime=started - timedelta(seconds=1), EndTime=started + timedelta(minutes=5), Period=60,
        Statistics=["Maximum"])["Datapoints"] == []


async def _healthy(pending: object) -> dict | None:
    body = await pending  # type: ignore[misc]
    healthy = all(t["state"] == "healthy" for t in body["targets"])
    return body if healthy and body.get("published_value") == 1 else None
