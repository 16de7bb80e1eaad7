"""The workload simulator: controller-manager, scheduler and kubelets of a small cluster, stepped by a clock."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from kubevigil.core.clock import Clock
from kubevigil.sim.daemonsets import DaemonSetController
from kubevigil.sim.democluster import seed_demo_cluster
from kubevigil.sim.deployments import DeploymentController, ReplicaSetController
from kubevigil.sim.disruption import DisruptionController
from kubevigil.sim.endpoints import EndpointsController
from kubevigil.sim.eventrecorder import NODE_CONTROLLER, NORMAL, WARNING, EventRecorder, Source, kubelet, rfc3339
from kubevigil.sim.jobs import CronJobController, JobController
from kubevigil.sim.kubelet import Kubelet
from kubevigil.sim.podlogs import PodLogs
from kubevigil.sim.pods import NODE, POD, node_is_ready, parse_time, set_condition
from kubevigil.sim.scheduler import Scheduler
from kubevigil.sim.statefulsets import StatefulSetController
from kubevigil.sim.workflows import WorkflowController
from kubevigil.sim.writes import delete_object, write_object, write_status

__all__ = ["CONTROLLERS", "SimContext", "WorkloadSimulator", "seed_demo_cluster"]

log = structlog.get_logger(__name__)

TAINT_EVICTION = Source("taint-eviction-controller")
NOT_READY_TAINT = "node.kubernetes.io/not-ready"


@dataclass(frozen=True)
class SimContext:
    """What a simulated controller is built with."""

    store: Any
    clock: Clock
    recorder: EventRecorder
    rng: random.Random
    stop_pod: Callable[[dict], None]  # the kubelet's graceful stop (Killing events, then delete)
    logs: PodLogs


class SimController(Protocol):
    def sync(self) -> None: ...


# The simulated controllers, in the order one pass runs them before the scheduler and kubelets. The third value is
# the controller's place in the status pass that runs after the kubelets (None: not in it), so counters reflect
# what the kubelets just reported. A new simulated kind is one module and one line here.
CONTROLLERS: tuple[tuple[str, Callable[[SimContext], SimController], int | None], ...] = (
    ("cronjob", lambda c: CronJobController(c.store, c.clock, c.recorder), None),
    ("job", lambda c: JobController(c.store, c.clock, c.recorder, c.rng, c.stop_pod), 5),
    ("workflow", lambda c: WorkflowController(c.store, c.clock, c.recorder), None),
    ("deployment", lambda c: DeploymentController(c.store, c.clock, c.recorder), 2),
    ("replicaset", lambda c: ReplicaSetController(c.store, c.clock, c.recorder, c.rng, c.stop_pod), 1),
    ("statefulset", lambda c: StatefulSetController(c.store, c.clock, c.recorder, c.stop_pod), 3),
    ("daemonset", lambda c: DaemonSetController(c.store, c.clock, c.recorder, c.rng, c.stop_pod), 4),
    ("endpoints", lambda c: EndpointsController(c.store, c.clock), 6),
    ("disruption", lambda c: DisruptionController(c.store), 7),
)


class WorkloadSimulator:
    """Moves pods and workload status towards what a real cluster would show; `reconcile_once` is one step."""

    def __init__(self, store: Any, clock: Clock, *, tick: float = 1.0, seed: int = 0,
                 logs: PodLogs | None = None) -> None:
        if tick <= 0:
            raise ValueError(f"WorkloadSimulator tick must be positive seconds, got {tick}")
        self.store = store
        self.clock = clock
        self.tick = tick
        self.logs = logs or PodLogs()
        rng = random.Random(seed)
        self.recorder = EventRecorder(store, clock)
        self.kubelet = Kubelet(store, clock, self.recorder, self.logs)
        self.scheduler = Scheduler(store, clock, self.recorder)
        ctx = SimContext(store, clock, self.recorder, rng, self.kubelet.stop_pod, self.logs)
        self.controllers = {name: build(ctx) for name, build, _ in CONTROLLERS}
        self._first_pass = [self.controllers[name] for name, _, _ in CONTROLLERS]
        self._status_pass = [self.controllers[name] for name, _, place in
                             sorted((e for e in CONTROLLERS if e[2] is not None), key=lambda e: e[2] or 0)]

    async def run(self) -> None:
        """Reconcile every `tick` seconds of the clock until cancelled; a failing step is logged, not fatal."""
        while True:
            try:
                self.reconcile_once()
            except Exception:
                log.exception("workload simulator step failed; retrying next tick")
            await self.clock.sleep(self.tick)

    def reconcile_once(self) -> None:
        """One deterministic pass: controllers create and delete, the scheduler binds, kubelets run pods."""
        self._evict_from_lost_nodes()
        for controller in self._first_pass:
            controller.sync()
        self.scheduler.schedule()
        self.kubelet.sync()
        for controller in self._status_pass:
            controller.sync()

    # ---- nodes -----------------------------------------------------------------------------

    def set_node_ready(self, name: str, ready: bool) -> None:
        """Flip a node's Ready condition as its kubelet dying or recovering would, with the controllers' reactions."""
        node = self.store.get(NODE, None, name)
        if ready:
            self._mark_ready(node)
        else:
            self._mark_not_ready(node)

    def _mark_not_ready(self, node: dict) -> None:
        name = node["metadata"]["name"]
        now_text = rfc3339(self.clock.now())
        status = copy.deepcopy(node.get("status") or {})
        set_condition(status.setdefault("conditions", []), "Ready", "False", now_text, "KubeletNotReady",
                      "PLEG is not healthy: pleg was last seen active 3m0.2s ago; threshold is 3m0s")
        _touch_heartbeat(status, now_text)
        node = write_status(self.store, NODE, node, status) or node
        self._set_not_ready_taints(node, True)
        self.recorder.record(node, NODE_CONTROLLER, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        for pod in self.store.list(POD, field_selector=f"spec.nodeName={name}"):
            pod_status = copy.deepcopy(pod.get("status") or {})
            set_condition(pod_status.setdefault("conditions", []), "Ready", "False", now_text, probe_time=True)
            stored = write_status(self.store, POD, pod, pod_status) or pod
            self.recorder.record(stored, NODE_CONTROLLER, WARNING, "NodeNotReady", "Node is not ready")

    def _mark_ready(self, node: dict) -> None:
        name = node["metadata"]["name"]
        now_text = rfc3339(self.clock.now())
        status = copy.deepcopy(node.get("status") or {})
        set_condition(status.setdefault("conditions", []), "Ready", "True", now_text, "KubeletReady",
                      "kubelet is posting ready status")
        _touch_heartbeat(status, now_text)
        node = write_status(self.store, NODE, node, status) or node
        self._set_not_ready_taints(node, False)
        self.recorder.record(node, kubelet(name), NORMAL, "NodeReady", f"Node {name} status is now: NodeReady")

    def _set_not_ready_taints(self, node: dict, present: bool) -> None:
        current = self.store.get(NODE, None, node["metadata"]["name"])
        spec = current.setdefault("spec", {})
        taints = [t for t in spec.get("taints") or [] if t.get("key") != NOT_READY_TAINT]
        if present:
            now_text = rfc3339(self.clock.now())
            taints += [{"key": NOT_READY_TAINT, "effect": "NoSchedule"},
                       {"key": NOT_READY_TAINT, "effect": "NoExecute", "timeAdded": now_text}]
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        write_object(self.store, NODE, current)

    def _evict_from_lost_nodes(self) -> None:
        """The taint-eviction controller: pods leave a NotReady node once their tolerationSeconds run out."""
        now = self.clock.now()
        for node in self.store.list(NODE):
            if node_is_ready(node):
                continue
            since = next((parse_time(c["lastTransitionTime"]) for c in node["status"].get("conditions") or []
                          if c["type"] == "Ready" and c.get("lastTransitionTime")), now)
            name = node["metadata"]["name"]
            for pod in self.store.list(POD, field_selector=f"spec.nodeName={name}"):
                grace = _toleration_seconds(pod)
                if grace is not None and now - since >= grace and not pod["metadata"].get("deletionTimestamp"):
                    meta = pod["metadata"]
                    self.recorder.record(pod, TAINT_EVICTION, NORMAL, "TaintManagerEviction",
                                         f"Marking for deletion Pod {meta['namespace']}/{meta['name']}")
                    delete_object(self.store, POD, meta["namespace"], meta["name"])


def _touch_heartbeat(status: dict, now_text: str) -> None:
    for cond in status.get("conditions") or []:
        cond["lastHeartbeatTime"] = now_text


def _toleration_seconds(pod: dict) -> float | None:
    """How long the pod stays on a not-ready node: None = forever, 0 = evict at once."""
    for tol in pod["spec"].get("tolerations") or []:
        key_matches = tol.get("key") == NOT_READY_TAINT or (tol.get("operator") == "Exists" and not tol.get("key"))
        if key_matches and tol.get("effect") in ("NoExecute", None, ""):
            seconds = tol.get("tolerationSeconds")
            return None if seconds is None else float(seconds)
    return 0.0
