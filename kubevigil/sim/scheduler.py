"""The default-scheduler's part: bind pending pods round-robin to Ready nodes, or say why it cannot."""

from __future__ import annotations

import copy
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.sim.eventrecorder import NORMAL, SCHEDULER, WARNING, EventRecorder, rfc3339
from kubevigil.sim.pods import NODE, POD, node_is_ready, set_condition
from kubevigil.sim.writes import write_object, write_status

# The real scheduler backs unschedulable pods off up to 10 s, so FailedScheduling repeats at about that rate.
RETRY_EVENT_EVERY = 10.0


def pinned_node(pod: dict) -> str | None:
    """The node a DaemonSet pod is pinned to through its required node affinity on metadata.name."""
    affinity = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and field.get("values"):
                return field["values"][0]
    return None


def _fits(pod: dict, node: dict) -> bool:
    labels = node["metadata"].get("labels") or {}
    selector = pod["spec"].get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    pin = pinned_node(pod)
    return pin is None or pin == node["metadata"]["name"]


def _schedulable(node: dict) -> bool:
    return node_is_ready(node) and not (node.get("spec") or {}).get("unschedulable")


class Scheduler:
    def __init__(self, store: Any, clock: Clock, recorder: EventRecorder) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self._next = 0
        self._last_failure: dict[str, float] = {}

    def schedule(self) -> None:
        """One pass over unbound pods, oldest name first so runs are deterministic."""
        nodes = sorted(self._store.list(NODE), key=lambda n: n["metadata"]["name"])
        pending = [p for p in self._store.list(POD) if not p["spec"].get("nodeName")
                   and not p["metadata"].get("deletionTimestamp")
                   and (p.get("status") or {}).get("phase", "Pending") == "Pending"]
        for pod in sorted(pending, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
            self._schedule_one(pod, nodes)
        live = {p["metadata"]["uid"] for p in pending}
        self._last_failure = {uid: t for uid, t in self._last_failure.items() if uid in live}

    def _schedule_one(self, pod: dict, nodes: list[dict]) -> None:
        candidates = [n for n in nodes if _schedulable(n) and _fits(pod, n)]
        if not candidates:
            self._unschedulable(pod, nodes)
            return
        node = candidates[self._next % len(candidates)]
        self._next += 1
        self._bind(pod, node["metadata"]["name"])

    def _bind(self, pod: dict, node_name: str) -> None:
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = node_name
        stored = write_object(self._store, POD, bound)
        if stored is None:
            return
        status = copy.deepcopy(stored.get("status") or {})
        conditions = status.setdefault("conditions", [])
        set_condition(conditions, "PodScheduled", "True", rfc3339(self._clock.now()), probe_time=True)
        status.setdefault("phase", "Pending")
        stored = write_status(self._store, POD, stored, status) or stored
        meta = pod["metadata"]
        self._recorder.record(stored, SCHEDULER, NORMAL, "Scheduled",
                              f"Successfully assigned {meta['namespace']}/{meta['name']} to {node_name}")
        self._last_failure.pop(meta["uid"], None)

    def _unschedulable(self, pod: dict, nodes: list[dict]) -> None:
        message = unschedulable_message(pod, nodes)
        status = copy.deepcopy(pod.get("status") or {})
        status["phase"] = "Pending"
        set_condition(status.setdefault("conditions", []), "PodScheduled", "False", rfc3339(self._clock.now()),
                      "Unschedulable", message, probe_time=True)
        stored = write_status(self._store, POD, pod, status) or pod
        uid = pod["metadata"]["uid"]
        now = self._clock.now()
        last = self._last_failure.get(uid)
        if last is None or now - last >= RETRY_EVENT_EVERY:
            self._last_failure[uid] = now
            self._recorder.record(stored, SCHEDULER, WARNING, "FailedScheduling", message)


def unschedulable_message(pod: dict, nodes: list[dict]) -> str:
    """The scheduler's summary line: how many nodes failed for which reason."""
    if not nodes:
        return "no nodes available to schedule pods"
    reasons: dict[str, int] = {}
    for node in nodes:
        reason = _rejection(pod, node)
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1
    parts = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    total = len(nodes)
    return (f"0/{total} nodes are available: {parts}. preemption: 0/{total} nodes are available: "
            f"{total} Preemption is not helpful for scheduling.")


def _rejection(pod: dict, node: dict) -> str:
    pin = pinned_node(pod)
    if pin is not None and pin != node["metadata"]["name"]:
        return "node(s) didn't match Pod's node affinity/selector"
    if not node_is_ready(node):
        return "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    if (node.get("spec") or {}).get("unschedulable"):
        return "node(s) were unschedulable"
    if not _fits(pod, node):
        return "node(s) didn't match Pod's node affinity/selector"
    return ""
