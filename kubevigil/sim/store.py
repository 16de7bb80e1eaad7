"""The emulator's object store: CRUD with kube-apiserver's write semantics (resourceVersion, uid, generation,
status split, finalizers) over plain dicts.

The other jobs live beside it, one class each: `ResourceTable` (built-ins and CRDs served), `Validator`,
`GarbageCollector`, `NamespaceLifecycle` and `WatchHistory`. Committed objects are never mutated (each write stores
a new dict), so the history and the HTTP layer can hold references without copying; the public API returns copies.
"""

from __future__ import annotations

import bisect
import builtins
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import Resource
from kubevigil.kube.selectors import LabelSelector, parse_label_selector
from kubevigil.sim.errors import ApiStatusError, bad_request, invalid, not_found, qualified
from kubevigil.sim.fieldselectors import FieldSelector, parse_field_selector
from kubevigil.sim.gc import GarbageCollector
from kubevigil.sim.history import WatchEvent, WatchHistory
from kubevigil.sim.namespaces import NamespaceLifecycle
from kubevigil.sim.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from kubevigil.sim.resourcetable import ResourceTable
from kubevigil.sim.services import ServiceRegistry
from kubevigil.sim.validation import Validator

__all__ = ["ApiStatusError", "Page", "Store", "WatchEvent", "copy_obj", "rfc3339"]

Key = tuple[str, str]  # (group, plural)
ObjKey = tuple[str, str]  # (namespace or "", name)
Listener = Callable[[str, Resource, dict], None]

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Resources whose create keeps the given status (kubelets register Nodes with status); others start empty.
_STATUS_KEPT_ON_CREATE = frozenset({("", "nodes")})
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")


def copy_obj(obj: Any) -> Any:
    """A deep copy of a JSON value; an orjson round trip is several times faster than copy.deepcopy."""
    return orjson.loads(orjson.dumps(obj))


def rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(slots=True)
class Page:
    """One page of a list: the items, whether more match after them, and how many (None when filtered)."""

    items: builtins.list[dict]
    more: bool
    remaining: int | None


def _has_spec_split(res: Resource) -> bool:
    return "status" in res.subresources


def _spec_part(obj: dict, res: Resource) -> dict:
    """Everything that counts for metadata.generation: all but metadata (and status when it is a subresource)."""
    skip = ("metadata", "status") if _has_spec_split(res) else ("metadata",)
    return {k: v for k, v in obj.items() if k not in skip and k not in ("apiVersion", "kind")}


class Store:
    """All objects of the emulated cluster, with the write semantics of a kube-apiserver."""

    def __init__(self, clock: Clock, *, history: int = 10_000) -> None:
        self.clock = clock
        self.history = history  # the watch window, in events
        self.watch_history = WatchHistory(history)
        self.table = ResourceTable()
        self.validator = Validator()
        self.gc = GarbageCollector(self)
        self.namespaces = NamespaceLifecycle(self)
        self.services = ServiceRegistry(self)
        self.resource_version = 0
        self._data: dict[Key, dict[ObjKey, dict]] = {}
        self._uids: dict[str, tuple[Key, ObjKey]] = {}
        # Keys of each bucket in (namespace, name) order, rebuilt lazily after a create or delete: paged lists
        # then cost O(page) per request instead of a sort of the whole collection.
        self._sorted: dict[Key, list[ObjKey]] = {}
        # Each stored object's JSON, made once at commit (the watch history shares it): GET and list serve these.
        self._encoded: dict[Key, dict[ObjKey, bytes]] = {}
        self._listeners: list[Listener] = []
        self._rand = random.Random()
        ns = self.table.resource_by_plural("", "v1", "namespaces")
        for name in DEFAULT_NAMESPACES:
            self.create(ns, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # --- the resource table (delegated) ----------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        """The resource serving `kind` at `api_version` (built-in or from a CRD); KeyError if none."""
        return self.table.resource(api_version, kind)

    def resource_by_plural(self, group: str, version: str, plural: str) -> Resource:
        return self.table.resource_by_plural(group, version, plural)

    def resources(self) -> list[Resource]:
        """Every served resource (built-in and custom), in a stable order."""
        return self.table.resources()

    def crd_of(self, res: Resource) -> dict | None:
        """The CRD serving `res`, or None for a built-in."""
        return self.table.crd_of(res)

    # --- raw access for the store's collaborators ------------------------------------------------------------------

    def buckets(self) -> Iterator[tuple[Key, dict[ObjKey, dict]]]:
        """(group, plural) and its objects by (namespace, name), in store order; do not mutate."""
        return iter(list(self._data.items()))

    def stored(self, res: Resource, okey: ObjKey) -> dict | None:
        return self._data.get((res.group, res.plural), {}).get(okey)

    def stored_by_key(self, key: Key, okey: ObjKey) -> dict | None:
        return self._data.get(key, {}).get(okey)

    def uid_exists(self, uid: object) -> bool:
        return isinstance(uid, str) and uid in self._uids

    # --- reads ---------------------------------------------------------------------------------------------------

    def _bucket(self, res: Resource) -> dict[ObjKey, dict]:
        return self._data.setdefault((res.group, res.plural), {})

    @staticmethod
    def _okey(res: Resource, namespace: str | None, name: str) -> ObjKey:
        return ((namespace or "") if res.namespaced else "", name)

    def _as_version(self, res: Resource, obj: dict) -> dict:
        """The object as served at `res`'s version (CRD versions share storage, with conversion strategy None)."""
        if obj.get("apiVersion") == res.api_version:
            return obj
        return {**obj, "apiVersion": res.api_version}

    def get_raw(self, res: Resource, namespace: str | None, name: str) -> dict:
        """The stored object without copying (callers must not mutate it); 404 ApiStatusError."""
        obj = self._bucket(res).get(self._okey(res, namespace, name))
        if obj is None:
            raise not_found(res, name)
        return self._as_version(res, obj)

    def encoded(self, res: Resource, obj: dict) -> bytes:
        """`obj` (from get_raw, list_raw or list_page) as JSON: the bytes made at commit when it is the stored one."""
        meta = obj["metadata"]
        okey = self._okey(res, meta.get("namespace"), meta["name"])
        if self._bucket(res).get(okey) is obj:
            data = self._encoded.get((res.group, res.plural), {}).get(okey)
            if data is not None:
                return data
        return orjson.dumps(obj)

    def get(self, res: Resource, namespace: str | None, name: str) -> dict:
        return copy_obj(self.get_raw(res, namespace, name))

    def try_get(self, res: Resource, namespace: str | None, name: str) -> dict | None:
        obj = self._bucket(res).get(self._okey(res, namespace, name))
        return None if obj is None else copy_obj(self._as_version(res, obj))

    def selectors(self, res: Resource, label_selector: str | None,
                  field_selector: str | None) -> tuple[LabelSelector, FieldSelector]:
        """Parse both selectors for `res`; 400 BadRequest naming the bad one."""
        try:
            labels = parse_label_selector(label_selector)
        except ValueError as e:
            raise bad_request(f"unable to parse requirement: {e}") from None
        try:
            fields = parse_field_selector(field_selector, res, self.table.selectable_fields(res))
        except ValueError as e:
            raise bad_request(str(e)) from None
        return labels, fields

    def list_raw(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                 field_selector: str | None = None) -> list[dict]:
        """Matching stored objects sorted by namespace/name, without copying (callers must not mutate them)."""
        return self.list_page(res, namespace, label_selector=label_selector, field_selector=field_selector).items

    def list_page(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                  field_selector: str | None = None, after: ObjKey | None = None, limit: int = 0) -> Page:
        """Up to `limit` (0: all) matching stored objects whose key sorts after `after`, without copying."""
        labels, fields = self.selectors(res, label_selector, field_selector)
        bucket = self._bucket(res)
        keys = self._sorted_keys(res)
        lo, hi = 0, len(keys)
        if namespace and res.namespaced:
            lo, hi = bisect.bisect_left(keys, (namespace,)), bisect.bisect_left(keys, (namespace + "\0",))
        if after is not None:
            lo = max(lo, bisect.bisect_right(keys, after))
        filtered = not (labels.empty and fields.empty)
        out: builtins.list[dict] = []
        for i in range(lo, hi):
            obj = bucket[keys[i]]
            if filtered and not ((labels.empty or labels.matches(obj["metadata"].get("labels")))
                                 and (fields.empty or fields.matches(obj))):
                continue
            if limit and len(out) == limit:
                # The API server leaves remainingItemCount unset for filtered lists: it cannot know it cheaply.
                return Page(out, True, None if filtered else hi - i)
            out.append(self._as_version(res, obj))
        return Page(out, False, None)

    def _sorted_keys(self, res: Resource) -> builtins.list[ObjKey]:
        key = (res.group, res.plural)
        keys = self._sorted.get(key)
        if keys is None:
            keys = self._sorted[key] = sorted(self._bucket(res))
        return keys

    def list(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
             field_selector: str | None = None) -> builtins.list[dict]:
        return copy_obj(self.list_raw(res, namespace, label_selector=label_selector, field_selector=field_selector))

    # --- writes --------------------------------------------------------------------------------------------------

    def _check_body(self, res: Resource, obj: object) -> dict:
        if not isinstance(obj, dict):
            raise bad_request(f"the body of a {res.kind} must be a JSON object")
        return self._check_owned_body(res, copy_obj(obj))

    def _check_owned_body(self, res: Resource, obj: dict) -> dict:
        """Validate and normalise a body this store already owns (fresh top level and metadata dicts)."""
        api_version, kind = obj.setdefault("apiVersion", res.api_version), obj.setdefault("kind", res.kind)
        if kind != res.kind:
            raise bad_request(f"the kind in the body ({kind}) does not match the resource kind ({res.kind})")
        if api_version != res.api_version and api_version.split("/")[0] != res.group:
            raise bad_request(f"the API version in the data ({api_version}) does not match the expected API "
                              f"version ({res.api_version})")
        obj["apiVersion"] = res.api_version
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request(f"metadata of a {res.kind} must be an object")
        if res.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        return obj

    def create(self, res: Resource, obj: dict, *, dry_run: bool = False) -> dict:
        """Create `obj`: assigns uid, creationTimestamp, generation, resourceVersion, generateName; 409/422/404."""
        obj = self._check_body(res, obj)
        meta = obj["metadata"]
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise invalid(res, "", [("metadata.name", "Required value: name or generateName is required")])
            meta["name"] = meta["generateName"] + "".join(self._rand.choice(_NAME_CHARS) for _ in range(5))
        name, namespace = meta["name"], meta.get("namespace")
        self.namespaces.require(res, namespace)
        self.validator.check(res, obj)
        okey = self._okey(res, namespace, name)
        if okey in self._bucket(res):
            raise ApiStatusError(409, "AlreadyExists", f'{qualified(res)} "{name}" already exists',
                                 {"name": name, "group": res.group, "kind": res.plural})
        for drop in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(drop, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock.now())
        meta["generation"] = 1
        if (res.group, res.plural) == ("batch", "jobs"):
            _default_job_selector(obj)
        self._prepare_status_on_create(res, obj)
        if dry_run:
            return obj
        self.commit("ADDED", res, okey, obj, None)
        if (res.group, res.plural) == _CRDS:
            self.table.serve(obj)
        return copy_obj(obj)

    def _prepare_status_on_create(self, res: Resource, obj: dict) -> None:
        key = (res.group, res.plural)
        if key == ("", "namespaces"):
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        elif key == ("", "pods"):
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif key == ("", "services"):
            self.services.prepare_create(res, obj)
        elif key == ("", "secrets"):
            obj.setdefault("type", "Opaque")
        elif key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            obj["status"] = _crd_status(obj, self.clock.now())
        elif _has_spec_split(res) and key not in _STATUS_KEPT_ON_CREATE:
            obj.pop("status", None)
        if key == ("", "namespaces"):
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]

    def _current(self, res: Resource, obj: dict) -> tuple[ObjKey, dict]:
        meta = obj["metadata"]
        if not meta.get("name"):
            raise invalid(res, "", [("metadata.name", "Required value: name is required")])
        okey = self._okey(res, meta.get("namespace"), meta["name"])
        old = self._bucket(res).get(okey)
        if old is None:
            raise not_found(res, meta["name"])
        rv = meta.get("resourceVersion")
        if rv not in (None, "") and str(rv) != old["metadata"]["resourceVersion"]:
            raise ApiStatusError(
                409, "Conflict", f'Operation cannot be fulfilled on {qualified(res)} "{meta["name"]}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                {"name": meta["name"], "group": res.group, "kind": res.plural})
        return okey, old

    def replace(self, res: Resource, obj: dict, *, dry_run: bool = False) -> dict:
        """Update spec and metadata (status is kept when it is a subresource); 409 on a stale resourceVersion."""
        return copy_obj(self._replace_owned(res, self._check_body(res, obj), dry_run))

    def _replace_owned(self, res: Resource, obj: dict, dry_run: bool) -> dict:
        """Replace with a body this store owns; returns the stored object uncopied."""
        okey, old = self._current(res, obj)
        self.validator.check(res, obj)
        if _has_spec_split(res):
            if "status" in old:
                obj["status"] = old["status"]
            else:
                obj.pop("status", None)
        self._keep_system_metadata(obj, old)
        if (res.group, res.plural) == ("", "services"):
            self.services.keep_allocation(obj, old)
        if _spec_part(obj, res) != _spec_part(old, res):
            obj["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        return self._update(res, okey, obj, old, dry_run)

    def replace_status(self, res: Resource, obj: dict, *, dry_run: bool = False) -> dict:
        """Update status only: spec and metadata are taken from the stored object."""
        return copy_obj(self._replace_status_owned(res, self._check_body(res, obj), dry_run))

    def _replace_status_owned(self, res: Resource, obj: dict, dry_run: bool) -> dict:
        """Status update with a body this store owns; returns the stored object uncopied."""
        okey, old = self._current(res, obj)
        new = {k: v for k, v in old.items() if k != "status"}
        new["metadata"] = dict(old["metadata"])
        if "status" in obj:
            new["status"] = obj["status"]
        return self._update(res, okey, new, old, dry_run)

    @staticmethod
    def _keep_system_metadata(obj: dict, old: dict) -> None:
        meta, old_meta = obj["metadata"], old["metadata"]
        for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)

    def _update(self, res: Resource, okey: ObjKey, obj: dict, old: dict, dry_run: bool) -> dict:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            # Removing the last finalizer of an object being deleted completes the deletion.
            if not dry_run:
                self.remove(res, okey, obj)
            return obj
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if obj == old:
            # A no-op write does not bump the resourceVersion, as etcd-backed storage skips it.
            return old
        if dry_run:
            return obj
        self.commit("MODIFIED", res, okey, obj, old)
        if (res.group, res.plural) == _CRDS:
            self.table.serve(obj)
        return obj

    def touch(self, res: Resource, namespace: str | None, name: str) -> None:
        """Commit the object unchanged under a new resourceVersion (one MODIFIED event): load for benchmarks."""
        okey = self._okey(res, namespace, name)
        old = self._bucket(res).get(okey)
        if old is None:
            raise not_found(res, name)
        # New top-level and metadata dicts only: the committed `old` stays as the history saw it.
        self.commit("MODIFIED", res, okey, {**old, "metadata": {**old["metadata"]}}, old)

    def patch(self, res: Resource, namespace: str | None, name: str, patch_type: str, body: object, *,
              subresource: str | None = None, dry_run: bool = False) -> dict:
        """Apply a merge, strategic merge, JSON or apply patch to the object or its status subresource."""
        return copy_obj(self.patch_raw(res, namespace, name, patch_type, body, subresource=subresource,
                                       dry_run=dry_run))

    def patch_raw(self, res: Resource, namespace: str | None, name: str, patch_type: str, body: object, *,
                  subresource: str | None = None, dry_run: bool = False) -> dict:
        """`patch`, returning the stored object without copying (callers must not mutate it)."""
        current = self._bucket(res).get(self._okey(res, namespace, name))
        if patch_type.startswith("application/apply-patch"):
            return self._apply(res, namespace, name, current, body, subresource, dry_run)
        if current is None:
            raise not_found(res, name)
        patched = self._patched(res, current, patch_type, body)
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise invalid(res, name, [("metadata", "Invalid value: the patch removed the object's metadata")])
        patched = {**patched, "metadata": {**patched["metadata"], "name": name, "namespace": namespace}}
        if subresource == "status":
            return self._replace_status_owned(res, patched, dry_run)
        if subresource:
            raise ApiStatusError(404, "NotFound", f"the server could not find the requested resource "
                                 f"({qualified(res)}/{subresource})")
        # Patches build new containers along every changed path and `patched` has fresh top/metadata dicts, the
        # only levels normalisation touches: no full copy (it was most of the write cost).
        return self._replace_owned(res, self._check_owned_body(res, patched), dry_run)

    def _patched(self, res: Resource, current: dict, patch_type: str, body: object) -> Any:
        base = patch_type.split(";")[0].strip()
        try:
            if base == "application/merge-patch+json":
                return merge_patch(current, body)
            if base == "application/strategic-merge-patch+json":
                if self.crd_of(res) is not None:
                    raise ApiStatusError(
                        415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                        "media types include: application/json-patch+json, application/merge-patch+json, "
                        "application/apply-patch+yaml")
                return strategic_merge_patch(current, body)
            if base == "application/json-patch+json":
                return json_patch(current, body)
        except PatchError as e:
            raise invalid(res, current["metadata"]["name"], [("patch", str(e))]) from None
        raise ApiStatusError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                             f"accepted media types include: application/json-patch+json, "
                             f"application/merge-patch+json, application/apply-patch+yaml (got {patch_type!r})")

    def _apply(self, res: Resource, namespace: str | None, name: str, current: dict | None, body: object,
               subresource: str | None, dry_run: bool) -> dict:
        """Server-side apply, simplified: create if absent, else merge the applied configuration in."""
        if isinstance(body, (bytes, str)):
            try:
                body = yaml.safe_load(body)
            except yaml.YAMLError as e:
                raise bad_request(f"apply patch is not valid YAML: {e}") from None
        if not isinstance(body, dict):
            raise bad_request("apply patch must be an object")
        body.setdefault("metadata", {}).update(name=name, **({"namespace": namespace} if res.namespaced else {}))
        if current is None:
            return self.create(res, body, dry_run=dry_run)
        body["metadata"].pop("resourceVersion", None)
        merged = strategic_merge_patch(current, body) if self.crd_of(res) is None else merge_patch(current, body)
        if subresource == "status":
            return self.replace_status(res, merged, dry_run=dry_run)
        return self.replace(res, merged, dry_run=dry_run)

    def delete(self, res: Resource, namespace: str | None, name: str, *, dry_run: bool = False,
               propagation: str = "Background") -> dict:
        """Delete now, or mark deletionTimestamp while finalizers remain; dependents per `propagation`."""
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise bad_request(f"propagationPolicy {propagation!r} is not one of Background, Foreground, Orphan")
        okey = self._okey(res, namespace, name)
        old = self._bucket(res).get(okey)
        if old is None:
            raise not_found(res, name)
        if dry_run:
            return copy_obj(old)
        if propagation == "Orphan":
            self.gc.orphan(old["metadata"]["uid"])
        elif propagation == "Foreground":
            self.gc.collect(old["metadata"]["uid"])
        if old["metadata"].get("finalizers"):
            if old["metadata"].get("deletionTimestamp"):
                return copy_obj(old)
            obj = {**old, "metadata": {**old["metadata"], "deletionTimestamp": rfc3339(self.clock.now()),
                                       "deletionGracePeriodSeconds": 0}}
            self.commit("MODIFIED", res, okey, obj, old)
            return copy_obj(obj)
        self.remove(res, okey, old)
        return copy_obj(old)

    def remove(self, res: Resource, okey: ObjKey, obj: dict) -> None:
        """Delete for good (no finalizers left): the DELETED event, then what depends on the object."""
        key = (res.group, res.plural)
        last = self._bucket(res).get(okey, obj)
        self.commit("DELETED", res, okey, {**obj, "metadata": dict(obj["metadata"])}, last)
        uid = obj["metadata"].get("uid")
        if key == _CRDS:
            self._drop_custom_objects(obj)
        elif key == ("", "namespaces"):
            self.namespaces.empty(okey[1])
        if uid:
            self.gc.schedule(uid)

    def _drop_custom_objects(self, crd: dict) -> None:
        """A deleted CRD takes its objects with it (no DELETED events, as the real server drops the storage)."""
        key = self.table.unserve(crd)
        if key is None:
            return
        self._sorted.pop(key, None)
        self._encoded.pop(key, None)
        for okey, obj in list(self._data.pop(key, {}).items()):
            self._uids.pop(obj["metadata"].get("uid", ""), None)
            self.gc.forget((key, okey), obj)

    # --- commits, listeners, watch history --------------------------------------------------------------------------

    def commit(self, etype: str, res: Resource, okey: ObjKey, obj: dict, prev: dict | None) -> None:
        """Store `obj` (or drop it, for DELETED) under the next resourceVersion and tell watchers and listeners."""
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        key = (res.group, res.plural)
        bucket = self._data.setdefault(key, {})
        uid = obj["metadata"].get("uid")
        encoded = orjson.dumps(obj)
        self.gc.index((key, okey), bucket.get(okey), None if etype == "DELETED" else obj)
        if etype == "DELETED":
            bucket.pop(okey, None)
            self._encoded.get(key, {}).pop(okey, None)
            self._uids.pop(uid, None)
            self._sorted.pop(key, None)
        else:
            if okey not in bucket:
                self._sorted.pop(key, None)
            bucket[okey] = obj
            self._encoded.setdefault(key, {})[okey] = encoded
            if uid:
                self._uids[uid] = (key, okey)
        self.watch_history.append(WatchEvent(self.resource_version, etype, key, obj, prev, encoded))
        for fn in list(self._listeners):
            fn(etype, res, copy_obj(obj))

    def snapshot(self) -> bytes:
        """Every stored object and the resourceVersion counter, as JSON (CRDs first, so a restore serves them)."""
        keys = sorted(self._encoded, key=lambda k: k != _CRDS)
        parts = [b'{"resourceVersion":%d,"buckets":[' % self.resource_version]
        parts.append(b",".join(b'{"group":%s,"plural":%s,"items":[%s]}' % (
            orjson.dumps(key[0]), orjson.dumps(key[1]), b",".join(self._encoded[key].values()))
            for key in keys if self._encoded[key]))
        parts.append(b"]}")
        return b"".join(parts)

    def restore(self, snapshot: bytes) -> None:
        """Replace everything with a `snapshot()`: same objects, uids and resourceVersions, and a watch window that
        starts at the saved resourceVersion (older watches get 410, as after an API server restart)."""
        data = orjson.loads(snapshot)
        self._data.clear()
        self._uids.clear()
        self._sorted.clear()
        self._encoded.clear()
        self.gc = GarbageCollector(self)
        self.table = ResourceTable()
        for bucket in data["buckets"]:
            key = (bucket["group"], bucket["plural"])
            for obj in bucket["items"]:
                meta = obj["metadata"]
                okey = (meta.get("namespace", ""), meta["name"])
                self._data.setdefault(key, {})[okey] = obj
                self._encoded.setdefault(key, {})[okey] = orjson.dumps(obj)
                if meta.get("uid"):
                    self._uids[meta["uid"]] = (key, okey)
                self.gc.index((key, okey), None, obj)
                if key == _CRDS:
                    self.table.serve(obj)
        self.resource_version = int(data["resourceVersion"])
        self.watch_history = WatchHistory(self.history, start=self.resource_version)

    def subscribe(self, fn: Listener) -> Callable[[], None]:
        """Call `fn(type, res, obj_copy)` synchronously after every committed write; returns unsubscribe."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def add_waker(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Call `fn()` (cheap, no arguments) after every commit; the watch handler uses it to wake up."""
        return self.watch_history.add_waker(fn)

    def oldest_resource_version(self) -> int:
        """The oldest resourceVersion a watch may start from: events after it are still in the window."""
        return self.watch_history.oldest(self.resource_version)

    def events_after(self, rv: int) -> builtins.list[WatchEvent]:
        """Committed events with resourceVersion > rv; 410 Expired if some of them left the window."""
        return self.watch_history.after(rv, self.resource_version)


def _default_job_selector(job: dict) -> None:
    """The Job strategy's defaulting: without manualSelector, pods are selected by the Job's own uid."""
    spec = job.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") or spec.get("selector"):
        return
    uid, name = job["metadata"]["uid"], job["metadata"]["name"]
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                   "controller-uid": uid, "job-name": name})


def _crd_status(crd: dict, now: float) -> dict:
    spec = crd.get("spec") or {}
    ts = rfc3339(now)
    storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    return {
        "acceptedNames": dict(spec.get("names") or {}),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": ts},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": ts},
        ],
        "storedVersions": storage,
    }
