"""Manifests and a stepping loop shared by the workload simulator tests."""

from __future__ import annotations

from kubevigil.core.clock import ManualClock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.store import Store
from kubevigil.sim.workloads import WorkloadSimulator

POD = by_kind("Pod")
EVENT = by_kind("Event")
DEPLOYMENT = by_kind("Deployment")
REPLICASET = by_kind("ReplicaSet")


async def run_for(sim: WorkloadSimulator, clock: ManualClock, seconds: float, tick: float = 1.0) -> None:
    """Reconcile once per tick for `seconds` of clock time, then once more."""
    elapsed = 0.0
    while elapsed < seconds:
        sim.reconcile_once()
        await clock.advance(tick)
        elapsed += tick
    sim.reconcile_once()


def deployment(name: str, replicas: int = 2, image: str = "nginx:1.27", namespace: str = "default",
               annotations: dict[str, str] | None = None, **spec: object) -> dict:
    labels = {"app": name}
    meta: dict = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}, **spec}}


def pods_of(store: Store, app: str, namespace: str = "default") -> list[dict]:
    return store.list(POD, namespace, label_selector=f"app={app}")


def events_about(store: Store, name: str, reason: str | None = None) -> list[dict]:
    return [e for e in store.list(EVENT) if e["involvedObject"]["name"] == name
            and (reason is None or e["reason"] == reason)]


def condition(obj: dict, type_: str) -> dict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)

NODE_RES = by_kind("Node")
