"""core/v1 Events written the way kubelet, scheduler and controllers write them, repeats folded by a correlator."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import by_kind

EVENT = by_kind("Event")
NORMAL = "Normal"
WARNING = "Warning"


def rfc3339(ts: float) -> str:
    """Seconds-precision UTC timestamp as the API server serialises metav1.Time."""
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Source:
    """Who reports: `component` is source.component, `host` the node for the kubelet, `instance` reportingInstance."""

    component: str
    host: str = ""
    instance: str = ""


def kubelet(node: str) -> Source:
    return Source("kubelet", node, node)


SCHEDULER = Source("default-scheduler", "", "default-scheduler-ip-10-0-0-10")
REPLICASET_CONTROLLER = Source("replicaset-controller")
DEPLOYMENT_CONTROLLER = Source("deployment-controller")
STATEFULSET_CONTROLLER = Source("statefulset-controller")
DAEMONSET_CONTROLLER = Source("daemonset-controller")
JOB_CONTROLLER = Source("job-controller")
CRONJOB_CONTROLLER = Source("cronjob-controller")
NODE_CONTROLLER = Source("node-controller")


class EventRecorder:
    """Creates Events through the store; a repeat of (object, source, type, reason, message) updates count instead."""

    def __init__(self, store: Any, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._seq = itertools.count()
        self._names: dict[tuple[str, ...], tuple[str, str]] = {}

    def record(self, obj: dict, source: Source, type_: str, reason: str, message: str, field_path: str = "") -> dict:
        """Write or bump one Event about `obj` (a stored object dict); returns the stored Event."""
        ref = _object_reference(obj, field_path)
        key = (source.component, source.host, ref["kind"], ref.get("namespace", ""), ref["name"], ref["uid"],
               field_path, type_, reason, message)
        now = self._clock.now()
        known = self._names.get(key)
        if known is not None:
            current = self._store.try_get(EVENT, known[0], known[1])
            if current is not None:
                current["count"] = int(current.get("count") or 1) + 1
                current["lastTimestamp"] = rfc3339(now)
                return self._store.replace(EVENT, current)
        event = self._new_event(ref, source, type_, reason, message, now)
        created = self._store.create(EVENT, event)
        self._names[key] = (created["metadata"]["namespace"], created["metadata"]["name"])
        return created

    def _new_event(self, ref: dict, source: Source, type_: str, reason: str, message: str, now: float) -> dict:
        # client-go names events "<object>.<UnixNano in hex>"; the sequence keeps same-instant events distinct.
        nano = int(now * 1_000_000_000) + next(self._seq)
        namespace = ref.get("namespace") or "default"
        src: dict[str, str] = {"component": source.component}
        if source.host:
            src["host"] = source.host
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{ref['name']}.{nano:x}", "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": src,
            "firstTimestamp": rfc3339(now),
            "lastTimestamp": rfc3339(now),
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": source.component,
            "reportingInstance": source.instance,
        }


def _object_reference(obj: dict, field_path: str) -> dict:
    meta = obj["metadata"]
    ref = {"kind": obj["kind"], "name": meta["name"], "uid": meta.get("uid", ""),
           "apiVersion": obj["apiVersion"], "resourceVersion": str(meta.get("resourceVersion", ""))}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref
