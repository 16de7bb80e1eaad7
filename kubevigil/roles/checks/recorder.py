"""Kubernetes Events on a HealthCheck (what `kubectl describe hc` shows): run start, finish, timeout, remedy."""

from __future__ import annotations

import secrets
from typing import Any

import structlog

from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import by_kind
from kubevigil.roles.checks.status import rfc3339

EVENT = by_kind("Event")
COMPONENT = "kubevigil-checks"
log = structlog.get_logger("kubevigil.checks")


class EventRecorder:
    """Writes one core/v1 Event per call; a failure to write is logged, never raised (Events are best effort)."""

    def __init__(self, api: Any, instance: str) -> None:
        self._api = api
        self._instance = instance
        self.written = 0

    async def record(self, obj: dict[str, Any], type_: str, reason: str, message: str, now: float) -> None:
        meta = obj["metadata"]
        stamp = rfc3339(now)
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta.get("uid", ""),
                               "resourceVersion": meta.get("resourceVersion", "")},
            "reason": reason, "message": message[:1024], "type": type_, "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": COMPONENT}, "reportingComponent": COMPONENT,
            "reportingInstance": self._instance,
        }
        try:
            await self._api.create(EVENT, meta["namespace"], event)
            self.written += 1
        except (ApiError, OSError) as exc:
            log.warning("could not write Event", reason=reason, namespace=meta["namespace"], name=meta["name"], error=str(exc))
