"""The garbage collector: an owner-uid index over ownerReferences, and what happens to dependents of a gone owner."""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

from kubevigil.kube.resources import Resource
from kubevigil.sim.objects import Key, ObjKey, StoredObjects

Loc = tuple[Key, ObjKey]


class GarbageCollector:
    """Background (async), Foreground and Orphan propagation over the store's objects."""

    def __init__(self, store: StoredObjects) -> None:
        self._store = store
        # owner uid -> where its dependents are: deleting an owner finds them without scanning every object.
        self._dependents_of: dict[str, set[Loc]] = {}

    def index(self, loc: Loc, prev: dict[str, Any] | None, obj: dict[str, Any] | None) -> None:
        """Move `loc` in the owner index from prev's owners to obj's (None: no object there)."""
        if prev is not None and obj is not None and \
                prev["metadata"].get("ownerReferences") is obj["metadata"].get("ownerReferences"):
            return  # the usual write: references shared untouched with the previous version
        before, after = _owner_uids(prev), _owner_uids(obj)
        if before == after:
            return
        for uid in before - after:
            locs = self._dependents_of.get(uid)
            if locs is not None:
                locs.discard(loc)
                if not locs:
                    del self._dependents_of[uid]
        for uid in after - before:
            self._dependents_of.setdefault(uid, set()).add(loc)

    def dependents(self, uid: str) -> builtins.list[tuple[Resource, ObjKey, dict[str, Any]]]:
        """The objects whose ownerReferences name `uid`, by resource in store order, then by namespace/name."""
        okeys_by_key: dict[Key, builtins.list[ObjKey]] = {}
        for key, okey in self._dependents_of.get(uid, ()):
            okeys_by_key.setdefault(key, []).append(okey)
        out = []
        for key, bucket in self._store.buckets():
            okeys = okeys_by_key.get(key)
            res = self._store.table.by_key(key) if okeys else None
            if res is None:
                continue
            for okey in sorted(okeys or ()):
                if (obj := bucket.get(okey)) is not None:
                    out.append((res, okey, obj))
        return out

    def schedule(self, uid: str) -> None:
        """Collect the dependents of a deleted owner: in a later loop turn, as the real GC works asynchronously."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.collect(uid)
            return
        loop.call_soon(self.collect, uid)

    def collect(self, uid: str) -> None:
        """Delete the dependents of a gone owner, or just drop the reference when another owner remains."""
        store = self._store
        for res, okey, obj in self.dependents(uid):
            if store.stored(res, okey) is not obj:
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            others = [r for r in refs if r.get("uid") != uid and store.uid_exists(r.get("uid"))]
            if others:
                store.commit("MODIFIED", res, okey, {**obj, "metadata": {**obj["metadata"], "ownerReferences": others}},
                             obj)
            else:
                store.delete(res, okey[0] or None, okey[1])

    def orphan(self, uid: str) -> None:
        """Orphan propagation: dependents lose the reference to `uid` and stay."""
        for res, okey, obj in self.dependents(uid):
            refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            new = {**obj, "metadata": {**obj["metadata"], "ownerReferences": refs}}
            if not refs:
                del new["metadata"]["ownerReferences"]
            self._store.commit("MODIFIED", res, okey, new, obj)

    def forget(self, loc: Loc, obj: dict[str, Any]) -> None:
        """Drop an object that vanished without a DELETED commit (its CRD went away)."""
        self.index(loc, obj, None)


def _owner_uids(obj: dict[str, Any] | None) -> frozenset[str]:
    if obj is None:
        return frozenset()
    refs = obj["metadata"].get("ownerReferences")
    if not refs or not isinstance(refs, list):
        return frozenset()
    return frozenset(r["uid"] for r in refs if isinstance(r, dict) and isinstance(r.get("uid"), str) and r["uid"])
