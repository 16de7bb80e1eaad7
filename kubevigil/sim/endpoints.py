"""The endpoints and endpointslice controllers: each Service with a selector gets an Endpoints object and one
EndpointSlice listing its pods' addresses, ready ones as ready, following pods as they come and go."""

from __future__ import annotations

import hashlib
from typing import Any

from kubevigil.kube.resources import by_kind
from kubevigil.kube.selectors import selector_from_spec
from kubevigil.sim.eventrecorder import rfc3339
from kubevigil.sim.pods import POD, is_ready, owner_reference
from kubevigil.sim.writes import delete_object, write_object

SERVICE = by_kind("Service")
ENDPOINTS = by_kind("Endpoints")
SLICE = by_kind("EndpointSlice")
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"
TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"


class EndpointsController:
    """Endpoints + EndpointSlices for every selector Service; both go when the Service goes."""

    def __init__(self, store: Any, clock: Any) -> None:
        self._store = store
        self._clock = clock

    def sync(self) -> None:
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in self._store.list(SERVICE)
                    if (s.get("spec") or {}).get("selector")}
        for service in services.values():
            pods = self._pods(service)
            self._sync_endpoints(service, pods)
            self._sync_slice(service, pods)
        for ep in self._store.list(ENDPOINTS):
            meta = ep["metadata"]
            if TRIGGER in (meta.get("annotations") or {}) and (meta["namespace"], meta["name"]) not in services:
                delete_object(self._store, ENDPOINTS, meta["namespace"], meta["name"])

    def _pods(self, service: dict[str, Any]) -> list[dict[str, Any]]:
        selector = selector_from_spec({"matchLabels": service["spec"]["selector"]})
        pods = self._store.list(POD, service["metadata"]["namespace"])
        return sorted((p for p in pods if selector.matches(p["metadata"].get("labels"))
                       and (p.get("status") or {}).get("podIP")), key=lambda p: p["metadata"]["name"])

    def _sync_endpoints(self, service: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        meta = service["metadata"]
        ready = [_address(p) for p in pods if is_ready(p) and not p["metadata"].get("deletionTimestamp")]
        not_ready = [_address(p) for p in pods if not is_ready(p) and not p["metadata"].get("deletionTimestamp")]
        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        wanted: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints",
                                  "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                               "labels": dict(meta.get("labels") or {})}}
        if subset:
            subset["ports"] = [_endpoint_port(p, pods) for p in service["spec"].get("ports") or []]
            wanted["subsets"] = [subset]
        self._upsert(ENDPOINTS, wanted, lambda cur: cur.get("subsets") == wanted.get("subsets")
                     and cur["metadata"].get("labels") == wanted["metadata"]["labels"])

    def _sync_slice(self, service: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        meta = service["metadata"]
        suffix = hashlib.sha256(meta["uid"].encode()).hexdigest()[:5]
        endpoints = [{"addresses": [p["status"]["podIP"]],
                      "conditions": {"ready": is_ready(p) and not p["metadata"].get("deletionTimestamp"),
                                     "serving": is_ready(p), "terminating": bool(p["metadata"].get("deletionTimestamp"))},
                      **({"nodeName": p["spec"]["nodeName"]} if p["spec"].get("nodeName") else {}),
                      "targetRef": {"kind": "Pod", "namespace": p["metadata"]["namespace"],
                                    "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}} for p in pods]
        wanted = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                  "metadata": {"name": f"{meta['name']}-{suffix}", "namespace": meta["namespace"],
                               "labels": {**(meta.get("labels") or {}), SERVICE_NAME: meta["name"],
                                          MANAGED_BY: CONTROLLER},
                               "ownerReferences": [owner_reference(service)]},
                  "endpoints": endpoints,
                  "ports": [_endpoint_port(p, pods) for p in service["spec"].get("ports") or []]}
        self._upsert(SLICE, wanted, lambda cur: cur.get("endpoints") == endpoints
                     and cur.get("ports") == wanted["ports"])

    def _upsert(self, res: Any, wanted: dict[str, Any], same: Any) -> None:
        meta = wanted["metadata"]
        current = self._store.try_get(res, meta["namespace"], meta["name"])
        annotations = {TRIGGER: rfc3339(self._clock.now())} if res is ENDPOINTS else {}
        if current is None:
            if annotations:
                meta["annotations"] = annotations
            self._store.create(res, wanted)
        elif not same(current):
            meta["resourceVersion"] = current["metadata"]["resourceVersion"]
            meta["annotations"] = {**(current["metadata"].get("annotations") or {}), **annotations}
            write_object(self._store, res, {**current, **wanted, "metadata": {**current["metadata"], **meta}})


def _address(pod: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ip": pod["status"]["podIP"]}
    if pod["spec"].get("nodeName"):
        out["nodeName"] = pod["spec"]["nodeName"]
    out["targetRef"] = {"kind": "Pod", "namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"],
                        "uid": pod["metadata"]["uid"]}
    return out


def _endpoint_port(port: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    """A Service port as its endpoints carry it: the target port, resolved by name on the pods' containers."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, str):
        target = next((cp["containerPort"] for p in pods for c in p["spec"].get("containers") or []
                       for cp in c.get("ports") or [] if cp.get("name") == target), port.get("port"))
    out: dict[str, Any] = {"port": int(target or 0), "protocol": port.get("protocol", "TCP")}
    if port.get("name"):
        out = {"name": port["name"], **out}
    return out
