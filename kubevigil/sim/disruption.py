"""PodDisruptionBudgets: how many disruptions each allows (the disruption controller), used by evictions."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from kubevigil.kube.selectors import selector_from_spec
from kubevigil.sim.writes import write_status

if TYPE_CHECKING:
    from kubevigil.sim.store import Store


def disruption_status(pdb: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    """What the disruption controller writes into a PodDisruptionBudget's status, for the pods it selects."""
    spec = pdb.get("spec") or {}
    expected = len(pods)
    healthy = sum(1 for p in pods if pod_ready(p))
    if spec.get("maxUnavailable") is not None:
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected, round_up=True))
    else:
        desired = _scaled(spec.get("minAvailable", 1), expected, round_up=True)
    return {"currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
            "disruptionsAllowed": max(0, healthy - desired), "observedGeneration": pdb["metadata"].get("generation", 1)}


def _scaled(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(value)


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def budgets_for(store: Store, pod: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The PodDisruptionBudgets selecting `pod`, each with every pod it selects."""
    namespace = pod["metadata"]["namespace"]
    pods = store.list_raw(store.resource("v1", "Pod"), namespace)
    out = []
    for pdb in store.list_raw(store.resource("policy/v1", "PodDisruptionBudget"), namespace):
        try:
            selector = selector_from_spec((pdb.get("spec") or {}).get("selector") or {})
        except ValueError:
            continue
        if selector.empty or not selector.matches(pod["metadata"].get("labels")):
            continue
        out.append((pdb, [p for p in pods if selector.matches(p["metadata"].get("labels"))
                          and not p["metadata"].get("deletionTimestamp")]))
    return out


class DisruptionController:
    """Keeps each PodDisruptionBudget's status (currentHealthy, desiredHealthy, disruptionsAllowed) current."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def sync(self) -> None:
        store = self._store
        pdb_res = store.resource("policy/v1", "PodDisruptionBudget")
        pod_res = store.resource("v1", "Pod")
        for pdb in store.list(pdb_res):
            try:
                selector = selector_from_spec((pdb.get("spec") or {}).get("selector") or {})
            except ValueError:
                continue
            pods = [p for p in store.list_raw(pod_res, pdb["metadata"]["namespace"])
                    if not selector.empty and selector.matches(p["metadata"].get("labels"))
                    and not p["metadata"].get("deletionTimestamp")]
            write_status(store, pdb_res, pdb, {**(pdb.get("status") or {}), **disruption_status(pdb, pods)})
