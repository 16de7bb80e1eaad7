"""The statefulset controller: pods <name>-0..n-1 created in order, each after its predecessors are Ready."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.deployments import nonzero
from kubevigil.sim.eventrecorder import NORMAL, STATEFULSET_CONTROLLER, EventRecorder
from kubevigil.sim.pods import (
    POD,
    is_active,
    is_available,
    is_ready,
    is_terminating,
    owned_by,
    pod_from_template,
    template_hash,
)
from kubevigil.sim.writes import write_status

STATEFULSET = by_kind("StatefulSet")
REVISION_LABEL = "controller-revision-hash"


class StatefulSetController:
    def __init__(self, store: Any, clock: Clock, recorder: EventRecorder, stop_pod: Callable[[dict], None]) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self._stop_pod = stop_pod

    def sync(self) -> None:
        pods = self._store.list(POD)
        for sts in self._store.list(STATEFULSET):
            if not is_terminating(sts):
                self._sync_one(sts, owned_by(pods, sts))

    def _sync_one(self, sts: dict, pods: list[dict]) -> None:
        name = sts["metadata"]["name"]
        replicas = int(sts["spec"].get("replicas", 1))
        revision = f"{name}-{template_hash(sts['spec']['template'])}"
        by_ordinal = {_ordinal(p, name): p for p in pods}
        parallel = sts["spec"].get("podManagementPolicy") == "Parallel"
        self._scale_down(sts, by_ordinal, replicas, parallel)
        for ordinal in range(replicas):
            pod = by_ordinal.get(ordinal)
            if pod is None:
                self._create(sts, ordinal, revision)
                if not parallel:
                    break
                continue
            if is_terminating(pod):
                break
            if not parallel and not is_ready(pod):
                break
        else:
            self._roll(sts, by_ordinal, replicas, revision)
        current = [p for p in owned_by(self._store.list(POD, sts["metadata"]["namespace"]), sts) if is_active(p)]
        write_status(self._store, STATEFULSET, sts, self._status(sts, current, revision))

    def _scale_down(self, sts: dict, by_ordinal: dict[int, dict], replicas: int, parallel: bool) -> None:
        """Remove the highest ordinals first; OrderedReady removes one at a time."""
        extra = sorted((o for o in by_ordinal if o >= replicas), reverse=True)
        for ordinal in extra[: None if parallel else 1]:
            self._delete(sts, by_ordinal.pop(ordinal))

    def _roll(self, sts: dict, by_ordinal: dict[int, dict], replicas: int, revision: str) -> None:
        """RollingUpdate: replace the highest-ordinal pod of an old revision once every pod is Ready."""
        if (sts["spec"].get("updateStrategy") or {}).get("type") == "OnDelete":
            return
        if not all(is_ready(by_ordinal[o]) for o in range(replicas) if o in by_ordinal):
            return
        for ordinal in range(replicas - 1, -1, -1):
            pod = by_ordinal.get(ordinal)
            if pod is not None and (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) != revision:
                self._delete(sts, pod)
                return

    def _create(self, sts: dict, ordinal: int, revision: str) -> None:
        name = f"{sts['metadata']['name']}-{ordinal}"
        labels = {REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": name,
                  "apps.kubernetes.io/pod-index": str(ordinal)}
        pod = pod_from_template(sts["spec"]["template"], sts, name, labels)
        pod["spec"]["hostname"] = name
        if sts["spec"].get("serviceName"):
            pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
        self._store.create(POD, pod)
        self._recorder.record(sts, STATEFULSET_CONTROLLER, NORMAL, "SuccessfulCreate",
                              f"create Pod {name} in StatefulSet {sts['metadata']['name']} successful")

    def _delete(self, sts: dict, pod: dict) -> None:
        self._stop_pod(pod)
        self._recorder.record(sts, STATEFULSET_CONTROLLER, NORMAL, "SuccessfulDelete",
                              f"delete Pod {pod['metadata']['name']} in StatefulSet {sts['metadata']['name']} "
                              "successful")

    def _status(self, sts: dict, pods: list[dict], revision: str) -> dict:
        now = self._clock.now()
        min_ready = int(sts["spec"].get("minReadySeconds") or 0)
        updated = [p for p in pods if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision]
        old = copy.deepcopy(sts.get("status") or {})
        all_updated = len(updated) == len(pods) == int(sts["spec"].get("replicas", 1))
        current_revision = revision if all_updated or not old.get("currentRevision") else old["currentRevision"]
        current = [p for p in pods if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) == current_revision]
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
                  "currentRevision": current_revision, "updateRevision": revision,
                  "collisionCount": int(old.get("collisionCount") or 0)}
        status.update(nonzero({
            "readyReplicas": sum(1 for p in pods if is_ready(p)),
            "currentReplicas": len(current),
            "updatedReplicas": len(updated),
            "availableReplicas": sum(1 for p in pods if is_available(p, min_ready, now)),
        }))
        return status


def _ordinal(pod: dict, name: str) -> int:
    suffix = pod["metadata"]["name"][len(name) + 1:]
    return int(suffix) if suffix.isdigit() else -1
