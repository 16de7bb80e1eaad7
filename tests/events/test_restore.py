"""The API server comes back with an older store (a restore from backup): every Event of it is exported, /status
counts what the restored store holds. Two emulators stand behind one address; the newer goes away, the older answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from kubevigil.catalog import load
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.events.endpoints import local_runtime_settings
from tests.events.workload import shop_objects
from tests.kube.conftest import proxied_kubeconfig
from tests.kube.tcpproxy import TcpProxy


def exported(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {json.loads(line)["body"]["message"] for line in path.read_text().splitlines() if line.strip()}


async def test_events_and_status_follow_a_restored_store(tmp_path: Path) -> None:
    async with Cluster(workloads=False, token="t", bookmark_interval=0.2) as newer, \
            Cluster(workloads=False, token="t", bookmark_interval=0.2) as older:
        for cluster in (newer, older):
            cluster.add_node("node-1")
        newer_rec, older_rec = EventRecorder(newer.store, newer.clock), EventRecorder(older.store, older.clock)
        newer_pod, older_pod = shop_objects(newer)["pod"], shop_objects(older)["pod"]
        for i in range(60):  # the newer store runs well ahead in resourceVersions
            newer_rec.record(newer_pod, kubelet("node-1"), "Warning", "BackOff", f"newer {i}")
        in_backup = {f"restored {i}" for i in range(5)}
        for message in sorted(in_backup):
            older_rec.record(older_pod, kubelet("node-1"), "Warning", "BackOff", message)
        proxy = TcpProxy(int(newer.url.rsplit(":", 1)[1]))
        await proxy.start()
        proxied_kubeconfig(newer, proxy, tmp_path / "kubeconfig")
        out = tmp_path / "events.jsonl"
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({
            "sinks": {"out": {"file": {"path": str(out)}}, "hb": {"file": {"path": str(tmp_path / "heartbeat.jsonl")}}},
            "leader_election": {"enabled": False},
            "events": {"max_event_age_seconds": 0,
                       "route": {"routes": [{"match": [{"receiver": "out"}]}]}},
            "status": {"sinks": ["hb"], "metric": {"name": "Heartbeat"}, "seconds": 0.5,
                       "targets": [{"kind": "Pod", "namespace": "shop", "selector": "app=web"}]},
        }))
        settings = local_runtime_settings(load(tmp_path / "config.yaml").settings, tmp_path / "kubeconfig",
                                          tmp_path / "state")
        runtime = Runtime(settings, ["events", "status"])
        await runtime.start()
        status = runtime._roles["status"]
        try:
            await eventually(lambda: len(exported(out)) == 60, timeout=30)
            newer.store.create(by_kind("Pod"), {  # a second Pod the backup does not have
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-2", "namespace": "shop",
                                                                "labels": {"app": "web"}},
                "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx"}]}})
            await eventually(lambda: status.status()["targets"][0]["objects"] == 2, timeout=30)
            proxy.sever()
            informers = [*runtime._roles["events"].informers(), *status.informers()]
            await eventually(lambda: all(i.last_error.startswith(("cannot connect", "TLS")) for i in informers),
                        timeout=30)
            proxy.target_port = int(older.url.rsplit(":", 1)[1])
            proxy.restore()
            after_restore = {f"after {i}" for i in range(5)}
            for message in sorted(after_restore):
                older_rec.record(older_pod, kubelet("node-1"), "Warning", "BackOff", message)
            await eventually(lambda: in_backup | after_restore <= exported(out), timeout=60)
            await eventually(lambda: status.status()["targets"][0]["objects"] == 1, timeout=30)
            await eventually(lambda: all(r.ok for r in runtime.readiness().values()), timeout=30)
        finally:
            await runtime.stop()
            await proxy.stop()
