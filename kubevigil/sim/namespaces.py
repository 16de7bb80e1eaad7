"""Namespace lifecycle: writes need a live namespace; deleting a namespace deletes everything in it."""

from __future__ import annotations

from kubevigil.kube.resources import Resource
from kubevigil.sim.errors import ApiStatusError
from kubevigil.sim.objects import StoredObjects

NAMESPACES = ("", "namespaces")


class NamespaceLifecycle:
    """The NamespaceLifecycle admission plugin and the namespace controller's cleanup."""

    def __init__(self, store: StoredObjects) -> None:
        self._store = store

    def require(self, res: Resource, namespace: str | None) -> None:
        """404 when the namespace does not exist, 403 while it is being deleted."""
        if not res.namespaced:
            return
        ns = self._store.stored_by_key(NAMESPACES, ("", namespace or ""))
        if ns is None:
            raise ApiStatusError(404, "NotFound", f'namespaces "{namespace}" not found',
                                 {"name": namespace, "kind": "namespaces"})
        if ns["metadata"].get("deletionTimestamp") is not None:
            raise ApiStatusError(403, "Forbidden", f'{res.plural} "{{name}}" is forbidden: unable to create new '
                                 f"content in namespace {namespace} because it is being terminated")

    def empty(self, namespace: str) -> None:
        """Delete every namespaced object in `namespace` (the namespace itself is already gone)."""
        store = self._store
        for key, bucket in list(store.buckets()):
            res = store.table.by_key(key)
            if res is None or not res.namespaced:
                continue
            for okey, obj in list(bucket.items()):
                if okey[0] == namespace:
                    store.remove(res, okey, obj)
