"""The deployment and replicaset controllers: templates become ReplicaSets, ReplicaSets become Pods, status follows."""

from __future__ import annotations

import copy
import math
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.controller import PodOwningController
from kubevigil.sim.eventrecorder import (
    DEPLOYMENT_CONTROLLER,
    NORMAL,
    REPLICASET_CONTROLLER,
    EventRecorder,
    rfc3339,
)
from kubevigil.sim.pods import (
    POD,
    condition,
    is_active,
    is_available,
    is_ready,
    is_terminating,
    owned_by,
    owner_reference,
    parse_time,
    pod_from_template,
    random_suffix,
    template_hash,
)
from kubevigil.sim.writes import write_object, write_status

DEPLOYMENT = by_kind("Deployment")
REPLICASET = by_kind("ReplicaSet")
REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
DEFAULT_PROGRESS_DEADLINE = 600


def nonzero(values: dict[str, Any]) -> dict[str, Any]:
    """Drop zero counters, as the API's omitempty does on the wire."""
    return {k: v for k, v in values.items() if v}


def resolve_int_or_percent(value: Any, total: int, round_up: bool, default: str) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    value = default if value is None else value
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        return int(text)
    scaled = int(text[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


class ReplicaSetController(PodOwningController):
    def sync(self) -> None:
        pods = self._store.list(POD)
        for rs in sorted(self._store.list(REPLICASET), key=lambda r: (r["metadata"]["namespace"],
                                                                       r["metadata"]["name"])):
            if not is_terminating(rs):
                self._sync_one(rs, owned_by(pods, rs))

    def _sync_one(self, rs: dict, pods: list[dict]) -> None:
        active = [p for p in pods if is_active(p)]
        want = int(rs["spec"].get("replicas", 1))
        if len(active) < want:
            for _ in range(want - len(active)):
                self._create_pod(rs)
        elif len(active) > want:
            for pod in _deletion_order(active)[: len(active) - want]:
                self._stop_pod(pod)
                self._recorder.record(rs, REPLICASET_CONTROLLER, NORMAL, "SuccessfulDelete",
                                      f"Deleted pod: {pod['metadata']['name']}")
        current = [p for p in owned_by(self._store.list(POD, rs["metadata"]["namespace"]), rs) if is_active(p)]
        write_status(self._store, REPLICASET, rs, self._status(rs, current))

    def _create_pod(self, rs: dict) -> None:
        meta = rs["metadata"]
        while True:
            name = f"{meta['name']}-{random_suffix(self._rng)}"
            if self._store.try_get(POD, meta["namespace"], name) is None:
                break
        pod = self._store.create(POD, pod_from_template(rs["spec"]["template"], rs, name, {}))
        self._recorder.record(rs, REPLICASET_CONTROLLER, NORMAL, "SuccessfulCreate",
                              f"Created pod: {pod['metadata']['name']}")

    def _status(self, rs: dict, pods: list[dict]) -> dict:
        now = self._clock.now()
        min_ready = int(rs["spec"].get("minReadySeconds") or 0)
        labels = (rs["spec"]["template"].get("metadata") or {}).get("labels") or {}
        status = copy.deepcopy(rs.get("status") or {})
        for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            status.pop(key, None)
        status["replicas"] = len(pods)
        status.update(nonzero({
            "fullyLabeledReplicas": sum(1 for p in pods if _has_labels(p, labels)),
            "readyReplicas": sum(1 for p in pods if is_ready(p)),
            "availableReplicas": sum(1 for p in pods if is_available(p, min_ready, now)),
        }))
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        return status


def _has_labels(pod: dict, labels: dict[str, str]) -> bool:
    have = pod["metadata"].get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


def _deletion_order(pods: list[dict]) -> list[dict]:
    """controller.ActivePods ranking: unscheduled, then pending, then not ready, then the youngest first."""
    def rank(pod: dict) -> tuple:
        phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get((pod.get("status") or {}).get("phase", ""), 0)
        restarts = sum(c.get("restartCount", 0) for c in (pod.get("status") or {}).get("containerStatuses") or [])
        return (bool(pod["spec"].get("nodeName")), phase_rank, is_ready(pod), -restarts)
    youngest_first = sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp", ""),
                                                 p["metadata"]["name"]), reverse=True)
    return sorted(youngest_first, key=rank)


class DeploymentController:
    def __init__(self, store: Any, clock: Clock, recorder: EventRecorder) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder

    def sync(self) -> None:
        all_rs = self._store.list(REPLICASET)
        for deploy in sorted(self._store.list(DEPLOYMENT), key=lambda d: (d["metadata"]["namespace"],
                                                                            d["metadata"]["name"])):
            if not is_terminating(deploy):
                self._sync_one(deploy, owned_by(all_rs, deploy))

    def _sync_one(self, deploy: dict, owned: list[dict]) -> None:
        spec = deploy["spec"]
        replicas = int(spec.get("replicas", 1))
        hash_ = template_hash(spec["template"], int((deploy.get("status") or {}).get("collisionCount") or 0))
        new_rs = next((rs for rs in owned if (rs["metadata"].get("labels") or {}).get(HASH_LABEL) == hash_), None)
        old = sorted((rs for rs in owned if rs is not new_rs), key=_revision)
        created = False
        if new_rs is None:
            new_rs = self._create_rs(deploy, hash_, old, self._initial_replicas(deploy, old))
            created = True
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            self._recreate(deploy, new_rs, old, replicas)
        else:
            self._rolling(deploy, new_rs, old, replicas)
        self._cleanup(deploy, old)
        fresh = owned_by(self._store.list(REPLICASET, deploy["metadata"]["namespace"]), deploy)
        new_rs = next((rs for rs in fresh if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        write_status(self._store, DEPLOYMENT, deploy, self._status(deploy, new_rs, fresh, created))

    # ---- rollout ---------------------------------------------------------------------------

    def _initial_replicas(self, deploy: dict, old: list[dict]) -> int:
        replicas = int(deploy["spec"].get("replicas", 1))
        if (deploy["spec"].get("strategy") or {}).get("type") == "Recreate":
            return 0 if any(_spec_replicas(rs) for rs in old) else replicas
        max_total = replicas + _max_surge(deploy)
        current = sum(_spec_replicas(rs) for rs in old)
        return max(0, min(replicas, max_total - current))

    def _create_rs(self, deploy: dict, hash_: str, old: list[dict], replicas: int) -> dict:
        meta = deploy["metadata"]
        template = copy.deepcopy(deploy["spec"]["template"])
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: hash_}
        selector = copy.deepcopy(deploy["spec"].get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: hash_}
        revision = max((_revision(rs) for rs in old), default=0) + 1
        name = f"{meta['name']}-{hash_}"
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": name, "namespace": meta["namespace"], "labels": tmeta["labels"],
                           "annotations": {REVISION: str(revision), DESIRED: str(deploy["spec"].get("replicas", 1)),
                                           MAX_REPLICAS: str(int(deploy["spec"].get("replicas", 1))
                                                             + _max_surge(deploy))},
                           "ownerReferences": [owner_reference(deploy)]},
              "spec": {"replicas": replicas, "minReadySeconds": int(deploy["spec"].get("minReadySeconds") or 0),
                       "selector": selector, "template": template}}
        stored = self._store.create(REPLICASET, rs)
        if replicas:
            self._recorder.record(deploy, DEPLOYMENT_CONTROLLER, NORMAL, "ScalingReplicaSet",
                                  f"Scaled up replica set {name} from 0 to {replicas}")
        annotated = copy.deepcopy(deploy)
        annotated["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        write_object(self._store, DEPLOYMENT, annotated)
        return stored

    def _rolling(self, deploy: dict, new_rs: dict, old: list[dict], replicas: int) -> None:
        max_surge, max_unavailable = _max_surge(deploy), _max_unavailable(deploy)
        total = _spec_replicas(new_rs) + sum(_spec_replicas(rs) for rs in old)
        want_new = _spec_replicas(new_rs)
        if want_new > replicas:
            want_new = replicas
        elif want_new < replicas:
            want_new = min(replicas, want_new + max(0, replicas + max_surge - total))
        if want_new != _spec_replicas(new_rs):
            new_rs = self._scale(deploy, new_rs, want_new) or new_rs
        self._scale_down_old(deploy, new_rs, old, replicas - max_unavailable)

    def _scale_down_old(self, deploy: dict, new_rs: dict, old: list[dict], min_available: int) -> None:
        """deployment's reconcileOldReplicaSets: first unhealthy old pods, then healthy ones above minAvailable."""
        active_old = [rs for rs in old if _spec_replicas(rs)]
        if not active_old:
            return
        all_count = _spec_replicas(new_rs) + sum(_spec_replicas(rs) for rs in old)
        new_unavailable = _spec_replicas(new_rs) - _status_int(new_rs, "availableReplicas")
        budget = all_count - min_available - new_unavailable
        for rs in active_old:
            unhealthy = _spec_replicas(rs) - _status_int(rs, "availableReplicas")
            cut = min(max(unhealthy, 0), max(budget, 0))
            if cut > 0:
                self._scale(deploy, rs, _spec_replicas(rs) - cut)
                rs["spec"]["replicas"] = _spec_replicas(rs) - cut
                budget -= cut
        available = _status_int(new_rs, "availableReplicas") + sum(_status_int(rs, "availableReplicas")
                                                                   for rs in old)
        budget = min(available - min_available, budget)
        for rs in active_old:
            cut = min(_spec_replicas(rs), budget)
            if cut > 0:
                self._scale(deploy, rs, _spec_replicas(rs) - cut)
                budget -= cut

    def _recreate(self, deploy: dict, new_rs: dict, old: list[dict], replicas: int) -> None:
        for rs in old:
            if _spec_replicas(rs):
                self._scale(deploy, rs, 0)
        old_uids = {rs["metadata"]["uid"] for rs in old}
        pods = self._store.list(POD, deploy["metadata"]["namespace"])
        if any(p for p in pods if _owner_uid_in(p, old_uids)):
            return
        if _spec_replicas(new_rs) != replicas:
            self._scale(deploy, new_rs, replicas)

    def _scale(self, deploy: dict, rs: dict, to: int) -> dict | None:
        current = self._store.try_get(REPLICASET, rs["metadata"]["namespace"], rs["metadata"]["name"])
        if current is None:
            return None
        before = _spec_replicas(current)
        current["spec"]["replicas"] = to
        current["metadata"].setdefault("annotations", {})[DESIRED] = str(deploy["spec"].get("replicas", 1))
        stored = write_object(self._store, REPLICASET, current)
        if stored is not None and before != to:
            direction = "up" if to > before else "down"
            self._recorder.record(deploy, DEPLOYMENT_CONTROLLER, NORMAL, "ScalingReplicaSet",
                                  f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {to}")
        return stored

    def _cleanup(self, deploy: dict, old: list[dict]) -> None:
        """Keep only revisionHistoryLimit drained old ReplicaSets."""
        limit = int(deploy["spec"].get("revisionHistoryLimit", 10))
        drained = [rs for rs in old if not _spec_replicas(rs) and not _status_int(rs, "replicas")]
        for rs in drained[: max(0, len(drained) - limit)]:
            self._store.delete(REPLICASET, rs["metadata"]["namespace"], rs["metadata"]["name"])

    # ---- status ----------------------------------------------------------------------------

    def _status(self, deploy: dict, new_rs: dict, all_rs: list[dict], created: bool) -> dict:
        now = self._clock.now()
        now_text = rfc3339(now)
        old_status = deploy.get("status") or {}
        replicas = int(deploy["spec"].get("replicas", 1))
        available = sum(_status_int(rs, "availableReplicas") for rs in all_rs)
        total = sum(_spec_replicas(rs) for rs in all_rs)
        status = nonzero({
            "replicas": sum(_status_int(rs, "replicas") for rs in all_rs),
            "updatedReplicas": _status_int(new_rs, "replicas"),
            "readyReplicas": sum(_status_int(rs, "readyReplicas") for rs in all_rs),
            "availableReplicas": available,
            "unavailableReplicas": max(total - available, 0),
            "collisionCount": old_status.get("collisionCount"),
        })
        status["observedGeneration"] = deploy["metadata"].get("generation", 1)
        conditions = copy.deepcopy(old_status.get("conditions") or [])
        if available >= replicas - _max_unavailable(deploy):
            _set_condition(conditions, "Available", "True", "MinimumReplicasAvailable",
                           "Deployment has minimum availability.", now_text)
        else:
            _set_condition(conditions, "Available", "False", "MinimumReplicasUnavailable",
                           "Deployment does not have minimum availability.", now_text)
        rs_name = new_rs["metadata"]["name"]
        if created:
            _set_progressing(conditions, "NewReplicaSetCreated", f'Created new replica set "{rs_name}"', now_text)
        elif _complete(status, replicas):
            _set_condition(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                           f'ReplicaSet "{rs_name}" has successfully progressed.', now_text)
        elif _progressed(old_status, status):
            _set_progressing(conditions, "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', now_text)
        elif self._timed_out(deploy, conditions, now):
            _set_condition(conditions, "Progressing", "False", "ProgressDeadlineExceeded",
                           f'ReplicaSet "{rs_name}" has timed out progressing.', now_text)
        if not condition({"status": {"conditions": conditions}}, "Progressing"):
            _set_progressing(conditions, "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', now_text)
        status["conditions"] = conditions
        return status

    def _timed_out(self, deploy: dict, conditions: list[dict], now: float) -> bool:
        cond = next((c for c in conditions if c["type"] == "Progressing"), None)
        if cond is None or cond.get("reason") == "NewReplicaSetAvailable":
            return False
        if cond.get("reason") == "ProgressDeadlineExceeded":
            return True
        deadline = int(deploy["spec"].get("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE))
        return parse_time(cond["lastUpdateTime"]) + deadline < now


def _set_condition(conditions: list[dict], type_: str, status: str, reason: str, message: str, now: str) -> None:
    """SetDeploymentCondition: a no-op when status and reason are unchanged; transition time kept on same status."""
    current = next((c for c in conditions if c["type"] == type_), None)
    if current is not None and current["status"] == status and current.get("reason") == reason:
        return
    transition = current["lastTransitionTime"] if current is not None and current["status"] == status else now
    conditions[:] = [c for c in conditions if c["type"] != type_]
    conditions.append({"type": type_, "status": status, "lastUpdateTime": now, "lastTransitionTime": transition,
                       "reason": reason, "message": message})


def _set_progressing(conditions: list[dict], reason: str, message: str, now: str) -> None:
    """A real step forward: lastUpdateTime moves (restarting the deadline), lastTransitionTime stays if True."""
    current = next((c for c in conditions if c["type"] == "Progressing"), None)
    transition = current["lastTransitionTime"] if current is not None and current["status"] == "True" else now
    conditions[:] = [c for c in conditions if c["type"] != "Progressing"]
    conditions.append({"type": "Progressing", "status": "True", "lastUpdateTime": now,
                       "lastTransitionTime": transition, "reason": reason, "message": message})


def _complete(status: dict, replicas: int) -> bool:
    return (status.get("updatedReplicas", 0) == replicas and status.get("replicas", 0) == replicas
            and status.get("availableReplicas", 0) == replicas)


def _progressed(old: dict, new: dict) -> bool:
    def old_pods(s: dict) -> int:
        return int(s.get("replicas", 0)) - int(s.get("updatedReplicas", 0))
    return any(int(new.get(k, 0)) > int(old.get(k, 0))
               for k in ("updatedReplicas", "readyReplicas", "availableReplicas")) or old_pods(new) < old_pods(old)


def _spec_replicas(rs: dict) -> int:
    return int(rs["spec"].get("replicas", 1))


def _status_int(obj: dict, key: str) -> int:
    return int((obj.get("status") or {}).get(key) or 0)


def _revision(rs: dict) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _max_surge(deploy: dict) -> int:
    rolling = ((deploy["spec"].get("strategy") or {}).get("rollingUpdate") or {})
    replicas = int(deploy["spec"].get("replicas", 1))
    return resolve_int_or_percent(rolling.get("maxSurge"), replicas, True, "25%")


def _max_unavailable(deploy: dict) -> int:
    if (deploy["spec"].get("strategy") or {}).get("type") == "Recreate":
        return 0
    rolling = ((deploy["spec"].get("strategy") or {}).get("rollingUpdate") or {})
    replicas = int(deploy["spec"].get("replicas", 1))
    surge = resolve_int_or_percent(rolling.get("maxSurge"), replicas, True, "25%")
    unavailable = resolve_int_or_percent(rolling.get("maxUnavailable"), replicas, False, "25%")
    return min(unavailable, replicas) if surge or unavailable else 1


def _owner_uid_in(obj: dict, uids: set[str]) -> bool:
    return any(ref.get("uid") in uids for ref in obj["metadata"].get("ownerReferences") or [])

