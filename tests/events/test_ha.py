"""Two replicas with leader election on one emulator: one exports at a time; the other takes over, exports what
was missed, and repeats nothing (the checkpoint lives in a ConfigMap, as replicas have separate volumes)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.events.endpoints import FAST_DELIVERY, child
from tests.events.workload import shop_objects
from tests.fakes.search_server import FakeSearchServer

LEASE_DURATION = 2.0
LEASE = {"lease": "default/kubevigil"}  # the process's Lease (leader_election.lease_name's default)


def replica_config(tmp_path: Path, name: str, kubeconfig: Path, search_url: str) -> Path:
    """One replica's config file: its own state_dir and file sink (to see who exported), the shared search."""
    root = tmp_path / name
    root.mkdir()
    delivery = FAST_DELIVERY.model_dump()
    doc = {
        "cluster": {"kubeconfig": str(kubeconfig)},
        "server": {"listen": "127.0.0.1:0"},
        "logging": {"level": "warning"},
        "state_dir": str(root / "state"),
        "shutdown_grace": 2.0,
        "sinks": {"mine": {"file": {"path": str(root / "events.jsonl")}, "delivery": delivery},
                  "search": {"opensearch": {"hosts": [search_url]}, "delivery": delivery}},
        "leader_election": {"namespace": "default", "lease_duration": LEASE_DURATION, "renew_deadline": 1.5,
                            "retry_period": 0.2},
        "events": {"checkpoint": "configmap", "max_event_age_seconds": 0,
                   "route": {"routes": [{"match": [{"receiver": "mine"}, {"receiver": "search"}]}]}},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(doc))
    return root / "config.yaml"


def replica_settings(tmp_path: Path, name: str, kubeconfig: Path, search_url: str) -> Any:
    return load(replica_config(tmp_path, name, kubeconfig, search_url), environ={}).settings


async def start_replica(settings: Any, identity: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("POD_NAME", identity)  # the runtime takes its lease identity from the downward API
    runtime = Runtime(settings, ["events"])
    await runtime.start()
    return runtime


def leading(runtime: Runtime) -> bool:
    return runtime.registry.get_sample_value("kubevigil_leader", LEASE) == 1


def exported(runtime: Runtime) -> float:
    return runtime.registry.get_sample_value("kubevigil_events_exported_total", {"receiver": "mine"}) or 0


def file_ids(settings: Any) -> list[str]:
    path = settings.sinks["mine"].params.path
    return [json.loads(line)["id"] for line in path.read_text().splitlines()] if path.exists() else []


async def test_one_leader_exports_and_the_other_takes_over_without_duplicates(
        cluster: Cluster, kubeconfig: Path, opensearch: FakeSearchServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    objs = shop_objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    a_settings = replica_settings(tmp_path, "a", kubeconfig, opensearch.url)
    b_settings = replica_settings(tmp_path, "b", kubeconfig, opensearch.url)
    a = await start_replica(a_settings, "replica-a", monkeypatch)
    b: Runtime | None = None
    try:
        await eventually(lambda: leading(a))
        b = await start_replica(b_settings, "replica-b", monkeypatch)
        expected = set()
        for i in range(100):
            ev = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", f"first {i}")
            expected.add(f"{ev['metadata']['uid']}-1")
        await eventually(lambda: opensearch.state.count() == 100)
        assert not leading(b) and exported(b) == 0

        # The leader stops (a rolling update); events keep coming while the lease changes hands.
        stopping = asyncio.create_task(a.stop())
        stopped_at = time.monotonic()
        for i in range(100):
            ev = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", f"during {i}")
            expected.add(f"{ev['metadata']['uid']}-1")
            if i % 10 == 0:
                await asyncio.sleep(0.01)
        await stopping
        await eventually(lambda: leading(b), timeout=LEASE_DURATION + 2)
        takeover = time.monotonic() - stopped_at
        repeat = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", "first 0")
        expected.add(f"{repeat['metadata']['uid']}-2")
        await eventually(lambda: opensearch.state.count() == len(expected), timeout=10)
        await eventually(lambda: len(file_ids(a_settings)) + len(file_ids(b_settings)) >= len(expected))
    finally:
        await a.stop()
        if b is not None:
            await b.stop()
    a_ids, b_ids = file_ids(a_settings), file_ids(b_settings)
    print(f"HA: takeover {takeover:.2f}s after the leader began stopping; a exported {len(a_ids)}, b {len(b_ids)}")
    assert takeover <= LEASE_DURATION
    assert sorted(opensearch.state.all_ids()) == sorted(expected)
    assert opensearch.state.writes == opensearch.state.count()  # nothing was indexed twice
    assert not set(a_ids) & set(b_ids) and len(a_ids) == len(set(a_ids)) and len(b_ids) == len(set(b_ids))
    assert set(a_ids) | set(b_ids) == expected and len(b_ids) >= 1
    cm = cluster.store.get(by_kind("ConfigMap"), "default", "kubevigil-events-checkpoint")
    assert json.loads(cm["data"]["marks"])[repeat["metadata"]["uid"]] == 2  # written on close at the latest


async def test_leader_killed_the_other_takes_over_after_the_lease_expires(
        cluster: Cluster, kubeconfig: Path, opensearch: FakeSearchServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The leader (a `kubevigil run` process) gets SIGKILL and never releases its lease."""
    objs = shop_objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    a_config = replica_config(tmp_path, "a", kubeconfig, opensearch.url)
    b_settings = replica_settings(tmp_path, "b", kubeconfig, opensearch.url)
    expected: set[str] = set()

    def emit(prefix: str, n: int) -> None:
        for i in range(n):
            ev = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", f"{prefix} {i}")
            expected.add(f"{ev['metadata']['uid']}-1")

    def holder() -> str:
        lease = cluster.store.try_get(by_kind("Lease", "coordination.k8s.io/v1"), "default", "kubevigil")
        return ((lease or {}).get("spec") or {}).get("holderIdentity") or ""

    b: Runtime | None = None
    async with child(a_config, tmp_path / "a.log", POD_NAME="replica-a") as a:
        await eventually(lambda: holder() == "replica-a", timeout=20)
        b = await start_replica(b_settings, "replica-b", monkeypatch)
        try:
            emit("first", 100)
            await eventually(lambda: opensearch.state.count() == 100)
            a.kill()
            await a.wait()
            killed_at = time.monotonic()
            emit("while nobody leads", 50)
            await eventually(lambda: leading(b), timeout=LEASE_DURATION * 2 + 1)
            takeover = time.monotonic() - killed_at
            await eventually(lambda: opensearch.state.count() == len(expected), timeout=10)
            a_ids = [json.loads(line)["id"] for line in (tmp_path / "a" / "events.jsonl").read_text().splitlines()]
            # b's file sink has its own queue: the search server seeing everything does not mean the file has it yet.
            await eventually(lambda: set(a_ids) | set(file_ids(b_settings)) == expected, timeout=10)
            b_ids = file_ids(b_settings)
        finally:
            await b.stop()
    print(f"HA kill: takeover {takeover:.2f}s after SIGKILL (lease {LEASE_DURATION}s); a exported {len(a_ids)}, "
          f"b {len(b_ids)}, re-exported by b: {len(set(a_ids) & set(b_ids))}")
    # Until the lease expires nobody leads; then the other replica leads within a retry period.
    assert takeover <= LEASE_DURATION + 1
    assert sorted(opensearch.state.all_ids()) == sorted(expected)  # idempotent ids: each occurrence once
    assert set(a_ids) | set(b_ids) == expected
