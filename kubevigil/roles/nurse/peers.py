"""The other nurse pods and their nodes, from two informers (no list per round), and this pod's own node."""

from __future__ import annotations

from typing import Any

from kubevigil.kube.factory import InformerFactory, Subscription
from kubevigil.kube.informer import Change, Informer
from kubevigil.kube.resources import by_kind
from kubevigil.roles.nurse.config import ALL_NAMESPACES, Neighbours
from kubevigil.roles.nurse.ring import Neighbour, node_hash
from kubevigil.roles.role import PodIdentity

ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


def pod_view(pod: dict[str, Any]) -> dict[str, Any]:
    """What the cache keeps of a nurse pod."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    return {
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "deletionTimestamp")
                     if k in meta},
        "spec": {"nodeName": spec.get("nodeName", "")},
        "status": {"phase": status.get("phase", ""), "podIP": status.get("podIP", ""),
                   "hostIP": status.get("hostIP", "")},
    }


def node_view(node: dict[str, Any]) -> dict[str, Any]:
    """What the cache keeps of a node: zone, schedulability, readiness."""
    meta, spec = node["metadata"], node.get("spec") or {}
    labels = meta.get("labels") or {}
    conditions = (node.get("status") or {}).get("conditions") or []
    return {
        "metadata": {"name": meta["name"], "uid": meta.get("uid", ""), "resourceVersion": meta.get("resourceVersion"),
                     "labels": {k: labels[k] for k in ZONE_LABELS if k in labels}},
        "spec": {"unschedulable": bool(spec.get("unschedulable")),
                 "taints": [t for t in spec.get("taints") or [] if t.get("key") == UNSCHEDULABLE_TAINT]},
        "status": {"conditions": [c for c in conditions if c.get("type") == "Ready"]},
    }


def is_unschedulable(node: dict[str, Any]) -> bool:
    """kubenurse's IsNodeUnschedulable: spec.unschedulable or the cordon taint with effect NoSchedule."""
    spec = node.get("spec") or {}
    return bool(spec.get("unschedulable")) or any(
        t.get("key") == UNSCHEDULABLE_TAINT and t.get("effect") == "NoSchedule" for t in spec.get("taints") or [])


def is_not_ready(node: dict[str, Any]) -> bool:
    """The node's Ready condition is present and not True (its kubelet stopped reporting or reports a problem)."""
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") != "True")
    return False


def zone_of(node: dict[str, Any] | None) -> str:
    labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    return next((labels[k] for k in ZONE_LABELS if labels.get(k)), "")


class Peers:
    """Keeps the neighbour candidates current from the pod and node informers (while started)."""

    def __init__(self, section: Neighbours, pod: PodIdentity) -> None:
        self.section = section
        self.pod = pod
        if section.namespace == ALL_NAMESPACES:
            self.namespace: str | None = None
        else:
            self.namespace = section.namespace or pod.namespace
        self.pods: Informer | None = None
        self.nodes: Informer | None = None
        self._subscriptions: list[Subscription] = []
        self._candidates: list[Neighbour] | None = None
        self._hashes: dict[str, int] = {}

    async def start(self, informers: InformerFactory) -> None:
        """Subscribe to the nurse pods and the nodes (kept as small projections)."""
        pods = await informers.subscribe(by_kind("Pod"), self._changed, namespace=self.namespace,
                                         label_selector=self.section.selector or None, view=pod_view,
                                         name="nurse:pods")
        nodes = await informers.subscribe(by_kind("Node"), self._changed, view=node_view, name="nurse:nodes")
        self._subscriptions = [pods, nodes]
        self.pods, self.nodes = pods.informer, nodes.informer

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.close()
        self.pods = self.nodes = None
        self._candidates = None

    def _pod_list(self) -> list[dict[str, Any]]:
        return self.pods.cache.list() if self.pods is not None else []

    def _node(self, name: str) -> dict[str, Any] | None:
        return self.nodes.cache.get(None, name) if self.nodes is not None else None

    def _hash(self, node_name: str) -> int:
        found = self._hashes.get(node_name)
        if found is None:
            if len(self._hashes) > 4 * len(self.nodes.cache if self.nodes else ()) + 1000:  # nodes come and go: bounded
                self._hashes.clear()
            found = self._hashes[node_name] = node_hash(node_name)
        return found

    async def _changed(self, _: Change) -> None:
        self._candidates = None

    @property
    def synced(self) -> bool:
        return (self.pods is not None and self.nodes is not None and self.pods.synced.is_set()
                and self.nodes.synced.is_set())

    def own_node_name(self) -> str:
        """NODE_NAME from the downward API, else the node of this pod as listed (kubenurse's way)."""
        if self.pod.node_name:
            return self.pod.node_name
        for pod in self._pod_list():
            if pod["metadata"]["name"] == self.pod.name:
                return str(pod["spec"].get("nodeName") or "")
        return ""

    def own_node(self) -> dict[str, Any] | None:
        name = self.own_node_name()
        return self._node(name) if name else None

    def own_zone(self) -> str:
        return zone_of(self.own_node())

    def unready_reason(self) -> str:
        """Why /ready answers 503 for this node: cordoned or gone (kubenurse's node readiness watcher)."""
        name = self.own_node_name()
        if not name or self.nodes is None or not self.nodes.synced.is_set():
            return ""
        node = self._node(name)
        if node is None:
            return f"node {name} not found"
        return f"node {name} is cordoned" if is_unschedulable(node) else ""

    def candidates(self) -> list[Neighbour]:
        """Nurses that may be checked: running, not deleting, not this pod, with an IP, one per node, on a
        schedulable and Ready node unless `allow_unschedulable`. Recomputed only after a change."""
        if self._candidates is None:
            self._candidates = self._eligible(check_nodes=not self.section.allow_unschedulable, include_self=False)
        return self._candidates

    def nurses(self) -> list[Neighbour]:
        """Every running nurse with an IP, this one included (whom the cluster matrix asks)."""
        return self._eligible(check_nodes=False, include_self=True)

    def _eligible(self, *, check_nodes: bool, include_self: bool) -> list[Neighbour]:
        by_node: dict[str, Neighbour] = {}
        for pod in self._pod_list():
            meta, status = pod["metadata"], pod["status"]
            node_name = pod["spec"]["nodeName"]
            if status["phase"] != "Running" or meta.get("deletionTimestamp") or not status["podIP"] or not node_name:
                continue
            if meta["name"] == self.pod.name and not include_self:
                continue
            node = self._node(node_name)
            if check_nodes and (node is None or is_unschedulable(node) or is_not_ready(node)):
                continue
            found = by_node.get(node_name)
            if found is None or meta["name"] > found.pod_name:  # one per node, the same one on every nurse
                by_node[node_name] = Neighbour(meta["name"], status["podIP"], status["hostIP"], node_name,
                                               zone_of(node), self._hash(node_name))
        return [by_node[name] for name in sorted(by_node)]

    def state(self, stale_after: float) -> str:
        """kubenurse's neighbourhood_state: "ok", or why the list of neighbours is missing or old."""
        if self.pods is None or not self.pods.synced.is_set():
            return "error: the nurse pods have not been listed yet"
        failing = self.pods.watch_failing_for()
        if failing > stale_after:
            return f"stale: the pod watch has been failing for {failing:.0f}s; neighbours as last seen"
        return "ok"
