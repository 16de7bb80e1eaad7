"""The daemonset controller: one pod per eligible node, pinned by node affinity, rolled one node at a time."""

from __future__ import annotations

from kubevigil.kube.resources import by_kind
from kubevigil.sim.controller import PodOwningController
from kubevigil.sim.deployments import nonzero, resolve_int_or_percent
from kubevigil.sim.eventrecorder import DAEMONSET_CONTROLLER, NORMAL
from kubevigil.sim.pods import (
    NODE,
    POD,
    is_active,
    is_available,
    is_ready,
    is_terminating,
    node_is_ready,
    owned_by,
    pod_from_template,
    random_suffix,
    template_hash,
)
from kubevigil.sim.scheduler import pinned_node
from kubevigil.sim.writes import write_status

DAEMONSET = by_kind("DaemonSet")
REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
# The taints a daemon pod tolerates on top of its template's, so it keeps running on a sick node.
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


class DaemonSetController(PodOwningController):
    def sync(self) -> None:
        pods = self._store.list(POD)
        nodes = self._store.list(NODE)
        for ds in self._store.list(DAEMONSET):
            if not is_terminating(ds):
                self._sync_one(ds, [p for p in owned_by(pods, ds) if is_active(p)], nodes)

    def _sync_one(self, ds: dict, pods: list[dict], nodes: list[dict]) -> None:
        revision = template_hash(ds["spec"]["template"])
        by_node: dict[str, list[dict]] = {}
        for pod in pods:
            by_node.setdefault(pinned_node(pod) or pod["spec"].get("nodeName") or "", []).append(pod)
        wanted = self._wanted_nodes(ds, nodes, by_node)
        for node_name, node_pods in by_node.items():
            if node_name not in wanted:
                for pod in node_pods:
                    self._delete(ds, pod)
        for node_name in sorted(wanted):
            if not by_node.get(node_name):
                self._create(ds, node_name, revision)
        self._roll(ds, by_node, wanted, revision)
        current = [p for p in owned_by(self._store.list(POD, ds["metadata"]["namespace"]), ds) if is_active(p)]
        write_status(self._store, DAEMONSET, ds, self._status(ds, current, wanted, revision))

    def _wanted_nodes(self, ds: dict, nodes: list[dict], by_node: dict[str, list[dict]]) -> set[str]:
        """Nodes matching the selector that are Ready, or NotReady but already running a daemon pod."""
        selector = (ds["spec"]["template"].get("spec") or {}).get("nodeSelector") or {}
        out = set()
        for node in nodes:
            labels = node["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in selector.items()):
                continue
            name = node["metadata"]["name"]
            if node_is_ready(node) or by_node.get(name):
                out.add(name)
        return out

    def _roll(self, ds: dict, by_node: dict[str, list[dict]], wanted: set[str], revision: str) -> None:
        """RollingUpdate: delete old-revision pods while unavailable pods stay within maxUnavailable."""
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type") == "OnDelete":
            return
        budget = resolve_int_or_percent((strategy.get("rollingUpdate") or {}).get("maxUnavailable"),
                                        len(wanted), False, "1") or 1
        pods = [p for name in wanted for p in by_node.get(name, [])]
        budget -= len(wanted) - sum(1 for p in pods if is_ready(p))
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
            if budget <= 0:
                return
            if (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) != revision:
                self._delete(ds, pod)
                budget -= 1

    def _create(self, ds: dict, node_name: str, revision: str) -> None:
        meta = ds["metadata"]
        labels = {REVISION_LABEL: revision, GENERATION_LABEL: str(meta.get("generation", 1))}
        name = f"{meta['name']}-{random_suffix(self._rng)}"
        pod = pod_from_template(ds["spec"]["template"], ds, name, labels)
        # Replaces the 300 s defaults pod_from_template adds: daemon pods stay on a sick node indefinitely.
        tolerations = (ds["spec"]["template"].get("spec") or {}).get("tolerations") or []
        pod["spec"]["tolerations"] = tolerations + [t for t in DAEMON_TOLERATIONS if t not in tolerations]
        pod["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}}
        self._store.create(POD, pod)
        self._recorder.record(ds, DAEMONSET_CONTROLLER, NORMAL, "SuccessfulCreate", f"Created pod: {name}")

    def _delete(self, ds: dict, pod: dict) -> None:
        self._stop_pod(pod)
        self._recorder.record(ds, DAEMONSET_CONTROLLER, NORMAL, "SuccessfulDelete",
                              f"Deleted pod: {pod['metadata']['name']}")

    def _status(self, ds: dict, pods: list[dict], wanted: set[str], revision: str) -> dict:
        now = self._clock.now()
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        scheduled = {pinned_node(p) for p in pods}
        on_wanted = [p for p in pods if pinned_node(p) in wanted]
        available = sum(1 for p in on_wanted if is_available(p, min_ready, now))
        status = {"currentNumberScheduled": len(scheduled & wanted), "desiredNumberScheduled": len(wanted),
                  "numberMisscheduled": len(scheduled - wanted), "numberReady": sum(1 for p in on_wanted
                                                                                    if is_ready(p)),
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        status.update(nonzero({
            "updatedNumberScheduled": sum(1 for p in on_wanted
                                          if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision),
            "numberAvailable": available,
            "numberUnavailable": len(wanted) - available,
        }))
        return status
