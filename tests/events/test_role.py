"""The events role against the emulator over real sockets: occurrences, enrichment, checkpoint across restarts, 410."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest_asyncio
import yaml
from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.core.signals import Record, Signal
from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.resources import by_kind
from kubevigil.roles.events.config import EventsConfig
from kubevigil.roles.events.role import EventsRole
from kubevigil.roles.role import PodIdentity, RoleContext
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.kube.tcpproxy import TcpProxy

ROUTE = {"routes": [{"match": [{"receiver": "all"}]},
                    {"drop": [{"namespace": "kube-system"}], "match": [{"type": "Warning", "receiver": "warn"}]}]}


class Collect:
    """An outlet that keeps what it was given."""

    kinds = frozenset({"record"})

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: list[Record] = []

    async def put(self, items: Sequence[Signal]) -> None:
        self.records.extend(i for i in items if isinstance(i, Record))

    def ids(self) -> list[str]:
        return [r.id for r in self.records]


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False, history=50) as c:
        yield c


@pytest_asyncio.fixture
async def api(cluster: Cluster, tmp_path: Path) -> AsyncIterator[KubeApi]:
    a = await connect(str(cluster.write_kubeconfig(tmp_path / "kubeconfig")))
    yield a
    await a.aclose()


def objects(cluster: Cluster) -> dict[str, dict]:
    s = cluster.store
    if s.try_get(by_kind("Namespace"), None, "shop") is None:
        s.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    dep = s.create(by_kind("Deployment"), {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
                   "spec": {"selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    rs = s.create(by_kind("ReplicaSet"), {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"},
                               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                                    "uid": dep["metadata"]["uid"], "controller": True}]},
                  "spec": {"selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    pod = s.create(by_kind("Pod"), {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "web-1-abc", "namespace": "shop", "labels": {"app": "web", "version": "dev"},
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1",
                                                     "uid": rs["metadata"]["uid"], "controller": True}]},
                   "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx"}]}})
    return {"deployment": dep, "replicaset": rs, "pod": pod}


def make_role(api: KubeApi, state: Path, outlets: dict[str, Collect], **cfg: Any) -> EventsRole:
    config = EventsConfig.model_validate({"route": ROUTE, **cfg})
    ctx = RoleContext(cluster_name="test-cluster", api=api, outlets=outlets, clock=SystemClock(),
                      registry=CollectorRegistry(), state_dir=state, pod=PodIdentity("t"))
    return EventsRole(config, ctx)


@contextlib.asynccontextmanager
async def running(role: EventsRole) -> AsyncIterator[EventsRole]:
    task = asyncio.create_task(role.run())
    try:
        await eventually(lambda: (role.informer is not None and role.informer.synced.is_set()) or task.done())
        yield role
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_repeats_enrichment_routing(cluster: Cluster, api: KubeApi, tmp_path: Path) -> None:
    objs = objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    outlets = {"all": Collect("all"), "warn": Collect("warn")}
    async with running(make_role(api, tmp_path, outlets, max_event_age_seconds=0)):
        ev = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", "Back-off restarting failed container")
        uid = ev["metadata"]["uid"]
        await eventually(lambda: f"{uid}-1" in outlets["all"].ids())
        rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", "Back-off restarting failed container")
        await eventually(lambda: f"{uid}-2" in outlets["all"].ids())
        # An event missing optional fields (no source, no timestamps, no count) still goes out.
        bare = cluster.store.create(by_kind("Event"), {"apiVersion": "v1", "kind": "Event",
                                    "metadata": {"name": "bare", "namespace": "kube-system"},
                                    "involvedObject": {"kind": "Node", "name": "gone"}, "type": "Warning"})
        await eventually(lambda: f"{bare['metadata']['uid']}-1" in outlets["all"].ids())
    assert outlets["all"].ids() == [f"{uid}-1", f"{uid}-2", f"{bare['metadata']['uid']}-1"]
    assert outlets["warn"].ids() == [f"{uid}-1", f"{uid}-2"]  # kube-system is dropped on that route
    body = outlets["all"].records[1].body
    assert body["count"] == 2 and body["clusterName"] == "test-cluster"
    involved = body["involvedObject"]
    assert involved["labels"] == {"app": "web", "version": "dev"}
    assert involved["node"] == "node-1"
    assert involved["topOwner"]["kind"] == "Deployment" and involved["topOwner"]["name"] == "web"
    assert outlets["all"].records[2].body["clusterName"] == "test-cluster"


async def test_restart_exports_what_was_missed_once(cluster: Cluster, api: KubeApi, tmp_path: Path) -> None:
    objs = objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    first = {"all": Collect("all"), "warn": Collect("warn")}
    async with running(make_role(api, tmp_path, first)):
        a = rec.record(objs["pod"], kubelet("node-1"), "Normal", "Pulled", "pulled")
        await eventually(lambda: len(first["all"].records) == 1)
    # While kubevigil is down: a repeat of a, and a new event b, which may be old by the time it restarts.
    rec.record(objs["pod"], kubelet("node-1"), "Normal", "Pulled", "pulled")
    rec.record(objs["pod"], kubelet("node-1"), "Normal", "Pulled", "pulled")
    b = rec.record(objs["pod"], kubelet("node-1"), "Warning", "Failed", "failed")
    second = {"all": Collect("all"), "warn": Collect("warn")}
    async with running(make_role(api, tmp_path, second, max_event_age_seconds=0.001)):
        await eventually(lambda: len(second["all"].records) >= 2)
        await asyncio.sleep(0.2)  # give a wrong duplicate the chance to show up
    ua, ub = a["metadata"]["uid"], b["metadata"]["uid"]
    assert sorted(second["all"].ids()) == sorted([f"{ua}-3", f"{ub}-1"])


async def test_relist_after_410_neither_loses_nor_doubles(cluster: Cluster, tmp_path: Path) -> None:
    objs = objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    proxy = TcpProxy(int(cluster.url.rsplit(":", 1)[1]))
    await proxy.start()
    config = cluster.kubeconfig()
    config["clusters"][0]["cluster"]["server"] = "https://" + proxy.url.split("://", 1)[1]
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    api = await connect(str(path))
    outlets = {"all": Collect("all"), "warn": Collect("warn")}
    role = make_role(api, tmp_path, outlets)
    try:
        async with running(role):
            for i in range(5):
                rec.record(objs["pod"], kubelet("node-1"), "Normal", "Started", f"s{i}")
            await eventually(lambda: len(outlets["all"].records) == 5)
            proxy.sever()  # the watch breaks; while it is away its resourceVersion leaves the 50-write history
            for i in range(80):
                cluster.store.create(by_kind("ConfigMap"), {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": f"cm{i}", "namespace": "shop"}})
            for i in range(5, 10):
                rec.record(objs["pod"], kubelet("node-1"), "Normal", "Started", f"s{i}")
            rec.record(objs["pod"], kubelet("node-1"), "Normal", "Started", "s0")  # a repeat: s0 count 2
            proxy.restore()
            await eventually(lambda: len(outlets["all"].records) >= 11, timeout=30)
            await asyncio.sleep(0.2)
            relists = role.ctx.registry.get_sample_value("kubevigil_informer_relists_total", {"informer": "events"})
    finally:
        await api.aclose()
        await proxy.stop()
    ids = outlets["all"].ids()
    assert len(ids) == len(set(ids)) == 11
    assert relists and relists >= 1
