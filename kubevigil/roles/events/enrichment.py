"""Involved-object metadata (labels, annotations, owners, top owner, node) from an LRU cache, one GET per object."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import structlog

from kubevigil.core.clock import Clock
from kubevigil.kube.client import KubeApi
from kubevigil.kube.errors import ApiError

log = structlog.get_logger("kubevigil.events")
MAX_OWNER_DEPTH = 5  # Pod -> ReplicaSet -> Deployment, Job -> CronJob; deeper chains are unusual


@dataclass(frozen=True, slots=True)
class Meta:
    """The part of an object kept in the cache: small and bounded."""

    labels: dict[str, str]
    annotations: dict[str, str]
    owners: list[dict[str, Any]]
    node: str
    deleted: bool = False  # gone (404) or being deleted, as event-exporter's involvedObject.deleted says

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Meta:
        meta = obj.get("metadata") or {}
        return cls(labels=meta.get("labels") or {}, annotations=meta.get("annotations") or {},
                   owners=meta.get("ownerReferences") or [], node=(obj.get("spec") or {}).get("nodeName") or "",
                   deleted=meta.get("deletionTimestamp") is not None)


MISSING = Meta({}, {}, [], "")
GONE = Meta({}, {}, [], "", deleted=True)


class MetaCache:
    """LRU of object metadata keyed by (apiVersion, kind, namespace, name), entries expire after `ttl`."""

    def __init__(self, api: KubeApi, clock: Clock, size: int, ttl: float, timeout: float) -> None:
        self.api = api
        self.clock = clock
        self.size = size
        self.ttl = ttl
        self.timeout = timeout
        self._entries: OrderedDict[tuple[str, str, str, str], tuple[float, Meta]] = OrderedDict()
        self._inflight: dict[tuple[str, str, str, str], asyncio.Future[Meta]] = {}

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> Meta:
        key = (api_version, kind, namespace, name)
        entry = self._entries.get(key)
        if entry is not None and self.clock.monotonic() - entry[0] < self.ttl:
            self._entries.move_to_end(key)
            return entry[1]
        pending = self._inflight.get(key)
        if pending is not None:  # concurrent lookups of one object share one GET
            return await asyncio.shield(pending)
        future: asyncio.Future[Meta] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            meta = await self._fetch(api_version, kind, namespace, name)
            future.set_result(meta)
        finally:
            self._inflight.pop(key, None)
            if not future.done():
                future.set_result(MISSING)
        self._entries[key] = (self.clock.monotonic(), meta)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return meta

    async def _fetch(self, api_version: str, kind: str, namespace: str, name: str) -> Meta:
        try:
            res = await self.api.resource_for(api_version, kind)
            async with asyncio.timeout(self.timeout):  # not wait_for: see runtime.py
                obj = await self.api.get(res, namespace if res.namespaced else None, name)
        except (TimeoutError, ApiError, KeyError, OSError) as exc:
            # A deleted object (404) or an unknown kind: the event is exported without enrichment.
            log.debug("enrichment: object not found", api_version=api_version, kind=kind, namespace=namespace, name=name, error=str(exc))
            return GONE if isinstance(exc, ApiError) and exc.status == 404 else MISSING
        except Exception as exc:  # transport errors of the HTTP client: same treatment, never block the export
            log.info("enrichment failed", api_version=api_version, kind=kind, namespace=namespace, name=name, error=str(exc))
            return MISSING
        return Meta.of(obj)

    def __len__(self) -> int:
        return len(self._entries)


class Enricher:
    """Adds labels, annotations, ownerReferences, topOwner and node to an event's involvedObject, and clusterName."""

    def __init__(self, cache: MetaCache | None, cluster_name: str) -> None:
        self.cache = cache
        self.cluster_name = cluster_name

    async def enrich(self, event: dict[str, Any]) -> dict[str, Any]:
        out = dict(event)
        out["clusterName"] = self.cluster_name
        ref = out.get("involvedObject") or {}
        if self.cache is None or not ref.get("kind") or not ref.get("name"):
            out["involvedObject"] = {**ref, "deleted": False}
            return out
        namespace = ref.get("namespace") or ""
        meta = await self.cache.get(ref.get("apiVersion") or "v1", ref["kind"], namespace, ref["name"])
        obj = {**ref, "deleted": meta.deleted}
        if meta.labels:
            obj["labels"] = meta.labels
        if meta.annotations:
            obj["annotations"] = meta.annotations
        if meta.owners:
            obj["ownerReferences"] = meta.owners
            obj["topOwner"] = await self._top_owner(meta.owners, namespace)
        if meta.node:
            obj["node"] = meta.node
        out["involvedObject"] = obj
        return out

    async def _top_owner(self, owners: list[dict[str, Any]], namespace: str) -> dict[str, Any]:
        assert self.cache is not None
        current = _controller(owners)
        for _ in range(MAX_OWNER_DEPTH):
            parent = await self.cache.get(current.get("apiVersion", ""), current.get("kind", ""), namespace,
                                          current.get("name", ""))
            if not parent.owners:
                break
            current = _controller(parent.owners)
        return {k: current[k] for k in ("apiVersion", "kind", "name", "uid") if k in current}


def _controller(owners: list[dict[str, Any]]) -> dict[str, Any]:
    return next((o for o in owners if o.get("controller")), owners[0])
