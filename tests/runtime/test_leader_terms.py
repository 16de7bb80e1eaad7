"""A process that loses its Lease stops its leader roles (and their watches) and starts them again when it leads
again; everywhere-roles never stop. The lease is taken from it the way another replica would: by the Lease object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.kube.leader import micro_time
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.events.workload import shop_objects

LEASE = by_kind("Lease", "coordination.k8s.io/v1")


def exported(path: Path) -> list[str]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["body"]["message"] for line in lines]


def states(runtime: Runtime) -> dict[str, str]:
    return {name: role["state"] for name, role in runtime.describe()["roles"].items()}


async def test_leader_roles_stop_when_the_lease_is_lost_and_start_again_when_it_comes_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with Cluster(workloads=False, bookmark_interval=0.2) as cluster:
        cluster.add_node("node-1")
        recorder, pod = EventRecorder(cluster.store, cluster.clock), shop_objects(cluster)["pod"]
        out = tmp_path / "events.jsonl"
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({
            "cluster": {"kubeconfig": str(cluster.write_kubeconfig(tmp_path / "kubeconfig"))},
            "server": {"listen": "127.0.0.1:0"}, "state_dir": str(tmp_path / "state"), "shutdown_grace": 1,
            "leader_election": {"namespace": "default", "lease_duration": 2, "renew_deadline": 1.5,
                                "retry_period": 0.2},
            "sinks": {"out": {"file": {"path": str(out)}}, "beats": {"file": {"path": str(tmp_path / "b.jsonl")}}},
            "events": {"max_event_age_seconds": 0, "route": {"routes": [{"match": [{"receiver": "out"}]}]}},
            "status": {"seconds": 1, "metric": {"name": "Up"}, "sinks": ["beats"],
                       "targets": [{"kind": "Node", "mode": "AtLeastOne"}]},
        }))
        monkeypatch.setenv("POD_NAME", "replica-a")
        runtime = Runtime(load(tmp_path / "config.yaml", environ={}).settings, ["events", "status"])
        await runtime.start()
        try:
            await eventually(lambda: states(runtime) == {"events": "running", "status": "running"})
            recorder.record(pod, kubelet("node-1"), "Warning", "BackOff", "first term")
            await eventually(lambda: "first term" in exported(out))

            # Another replica takes the Lease (it expired for it): this one cannot renew and steps down.
            lease = cluster.store.get(LEASE, "default", "kubevigil")
            now = micro_time(cluster.clock.now())
            lease["spec"] = {**lease["spec"], "holderIdentity": "replica-b", "leaseDurationSeconds": 3600,
                             "acquireTime": now, "renewTime": now}
            cluster.store.replace(LEASE, lease)
            await eventually(lambda: states(runtime) == {"events": "standby", "status": "running"}, timeout=15)
            assert runtime.registry.get_sample_value("kubevigil_leader", {"lease": "default/kubevigil"}) == 0
            watches = [i["watch"] for i in runtime.describe()["informers"]]
            assert watches == ["nodes@*"]  # the events watch is closed with its role; status keeps its own
            assert runtime.readiness()["role:events"].detail == "standby: replica-b leads (lease default/kubevigil)"
            recorder.record(pod, kubelet("node-1"), "Warning", "BackOff", "while standing by")

            # replica-b goes away and hands the Lease back: this one leads again and the role resumes.
            lease = cluster.store.get(LEASE, "default", "kubevigil")
            lease["spec"] = {**lease["spec"], "holderIdentity": "", "leaseDurationSeconds": 1}
            cluster.store.replace(LEASE, lease)
            await eventually(lambda: states(runtime) == {"events": "running", "status": "running"}, timeout=15)
            recorder.record(pod, kubelet("node-1"), "Warning", "BackOff", "second term")
            await eventually(lambda: {"while standing by", "second term"} <= set(exported(out)))
            assert sorted(exported(out)) == sorted(set(exported(out)))  # the first term's Event is not exported again
            assert runtime.registry.get_sample_value("kubevigil_leader", {"lease": "default/kubevigil"}) == 1
            described: dict[str, Any] = runtime.describe()
            assert {i["watch"] for i in described["informers"]} == {"nodes@*", "events@*"}
            assert described["leader_election"]["leading"] and described["leader_election"]["holder"] == "replica-a"
        finally:
            await runtime.stop()


async def test_a_standby_that_cannot_read_the_lease_is_not_ready(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """It could not take over: /readyz says so (here the Lease's namespace does not exist; RBAC is the usual case)."""
    async with Cluster(workloads=False) as cluster:
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({
            "cluster": {"kubeconfig": str(cluster.write_kubeconfig(tmp_path / "kubeconfig"))},
            "server": {"listen": "127.0.0.1:0"}, "state_dir": str(tmp_path / "state"), "shutdown_grace": 1,
            "leader_election": {"namespace": "nowhere", "lease_duration": 2, "renew_deadline": 1.5,
                                "retry_period": 0.2},
            "sinks": {"out": {"file": {"path": str(tmp_path / "events.jsonl")}}},
            "events": {"route": {"routes": [{"match": [{"receiver": "out"}]}]}},
        }))
        monkeypatch.setenv("POD_NAME", "replica-a")
        runtime = Runtime(load(tmp_path / "config.yaml", environ={}).settings, ["events"])
        await runtime.start()
        try:
            await eventually(lambda: not runtime.readiness()["leader_election"].ok)
            detail = runtime.readiness()["leader_election"].detail
            assert detail.startswith("cannot read or write the lease nowhere/kubevigil: "), detail
            assert runtime.describe()["leader_election"]["error"] and states(runtime) == {"events": "standby"}
        finally:
            await runtime.stop()
