"""The emulator's object store: API semantics (resourceVersion, uid, generation, status split, finalizers, GC,
CRDs) over plain dicts, plus the bounded event history that watches read from.

Committed objects are never mutated (each write stores a new dict), so the history and the HTTP layer can hold
references without copying; the public Python API returns copies.
"""

from __future__ import annotations

import asyncio
import bisect
import builtins
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import BUILTIN, Resource
from kubevigil.kube.selectors import LabelSelector, parse_label_selector
from kubevigil.sim.fieldselectors import FieldSelector, parse_field_selector
from kubevigil.sim.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

Key = tuple[str, str]  # (group, plural)
ObjKey = tuple[str, str]  # (namespace or "", name)
Listener = Callable[[str, Resource, dict], None]

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Resources whose create keeps the given status (kubelets register Nodes with status); others start empty.
_STATUS_KEPT_ON_CREATE = frozenset({("", "nodes")})
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def copy_obj(obj: Any) -> Any:
    """A deep copy of a JSON value; an orjson round trip is several times faster than copy.deepcopy."""
    return orjson.loads(orjson.dumps(obj))


def qualified(res: Resource) -> str:
    """`pods`, `deployments.apps`: how the API server names a resource in messages."""
    return f"{res.plural}.{res.group}" if res.group else res.plural


class ApiStatusError(Exception):
    """An API error that carries a Kubernetes Status (code, reason, message, details)."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body


def not_found(res: Resource, name: str) -> ApiStatusError:
    return ApiStatusError(404, "NotFound", f'{qualified(res)} "{name}" not found',
                          {"name": name, "group": res.group, "kind": res.plural})


def bad_request(message: str) -> ApiStatusError:
    return ApiStatusError(400, "BadRequest", message)


def invalid(res: Resource, name: str, causes: list[tuple[str, str]]) -> ApiStatusError:
    """422 Invalid with one cause per (field, message)."""
    text = ", ".join(f"{f}: {m}" for f, m in causes)
    group_kind = f"{res.kind}.{res.group}" if res.group else res.kind
    return ApiStatusError(
        422, "Invalid", f'{group_kind} "{name}" is invalid: {text}',
        {"name": name, "group": res.group, "kind": res.kind,
         "causes": [{"reason": "FieldValueRequired" if m == "Required value" else "FieldValueInvalid",
                     "message": m, "field": f} for f, m in causes]})


def expired(requested: int, oldest: int) -> ApiStatusError:
    return ApiStatusError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(slots=True)
class WatchEvent:
    """One committed write; `prev` lets a filtered watch turn a selector change into ADDED/DELETED."""

    rv: int
    type: str
    key: Key
    obj: dict
    prev: dict | None
    encoded: bytes  # `obj` as JSON, serialised once at commit and shared by every watcher


@dataclass(slots=True)
class Page:
    """One page of a list: the items, whether more match after them, and how many (None when filtered)."""

    items: builtins.list[dict]
    more: bool
    remaining: int | None


@dataclass(slots=True)
class _Served:
    """A served custom resource version and the CRD that defines it."""

    res: Resource
    crd: dict
    selectable: frozenset[str] = field(default_factory=frozenset)


def _has_spec_split(res: Resource) -> bool:
    return "status" in res.subresources


def _spec_part(obj: dict, res: Resource) -> dict:
    """Everything that counts for metadata.generation: all but metadata (and status when it is a subresource)."""
    skip = ("metadata", "status") if _has_spec_split(res) else ("metadata",)
    return {k: v for k, v in obj.items() if k not in skip and k not in ("apiVersion", "kind")}


_WORKLOAD_KINDS = {("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("apps", "replicasets")}


def _required_causes(res: Resource, obj: dict) -> list[tuple[str, str]]:
    """The required fields this object lacks, per the validation rules of its kind."""
    causes: list[tuple[str, str]] = []
    spec: dict = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
    key = (res.group, res.plural)
    if key == ("", "pods"):
        containers = spec.get("containers")
        if not containers:
            causes.append(("spec.containers", "Required value"))
        for i, c in enumerate(containers or []):
            if not isinstance(c, dict) or not c.get("name"):
                causes.append((f"spec.containers[{i}].name", "Required value"))
            if not isinstance(c, dict) or not c.get("image"):
                causes.append((f"spec.containers[{i}].image", "Required value"))
    elif key in _WORKLOAD_KINDS:
        if not spec.get("selector"):
            causes.append(("spec.selector", "Required value"))
        if not spec.get("template"):
            causes.append(("spec.template", "Required value"))
        elif spec.get("selector"):
            causes.extend(_selector_mismatch(spec))
    elif key == ("batch", "jobs"):
        if not spec.get("template"):
            causes.append(("spec.template", "Required value"))
    elif key == ("batch", "cronjobs"):
        if not spec.get("schedule"):
            causes.append(("spec.schedule", "Required value"))
        if not spec.get("jobTemplate"):
            causes.append(("spec.jobTemplate", "Required value"))
    elif key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        causes.extend(_crd_causes(obj))
    return causes


def _selector_mismatch(spec: dict) -> list[tuple[str, str]]:
    from kubevigil.kube.selectors import selector_from_spec

    try:
        sel = selector_from_spec(spec["selector"])
    except ValueError as e:
        return [("spec.selector", str(e))]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if sel.empty or not sel.matches(labels):
        return [("spec.template.metadata.labels", f"Invalid value: {orjson.dumps(labels).decode()}: "
                 "`selector` does not match template `labels`")]
    return []


def _crd_causes(obj: dict) -> list[tuple[str, str]]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    causes = [(f"spec.{f}", "Required value") for f, v in
              (("group", spec.get("group")), ("names.plural", names.get("plural")),
               ("names.kind", names.get("kind")), ("scope", spec.get("scope")), ("versions", spec.get("versions")))
              if not v]
    if not causes:
        expected = f"{names['plural']}.{spec['group']}"
        if obj["metadata"].get("name") != expected:
            causes.append(("metadata.name", f'Invalid value: "{obj["metadata"].get("name")}": '
                           f"must be spec.names.plural+\".\"+spec.group"))
        if sum(1 for v in spec["versions"] if v.get("storage")) != 1:
            causes.append(("spec.versions", "Invalid value: must have exactly one version marked as storage version"))
    return causes


class Store:
    """All objects of the emulated cluster, with the write semantics of a kube-apiserver."""

    def __init__(self, clock: Clock, *, history: int = 10_000) -> None:
        if history < 1:
            raise ValueError(f"Store history must be at least 1 event, got {history}")
        self.clock = clock
        self.history = history
        self.resource_version = 0
        self._data: dict[Key, dict[ObjKey, dict]] = {}
        self._uids: dict[str, tuple[Key, ObjKey]] = {}
        self._events: list[WatchEvent] = []
        # Keys of each bucket in (namespace, name) order, rebuilt lazily after a create or delete: paged lists
        # then cost O(page) per request instead of a sort of the whole collection.
        self._sorted: dict[Key, list[ObjKey]] = {}
        # Each stored object's JSON, made once at commit (the watch history shares it): GET and list serve these.
        self._encoded: dict[Key, dict[ObjKey, bytes]] = {}
        # owner uid -> where its dependents are: deleting an owner finds them without scanning every object.
        self._dependents_of: dict[str, set[tuple[Key, ObjKey]]] = {}
        self._listeners: list[Listener] = []
        self._wakers: set[Callable[[], None]] = set()
        self._by_gvk: dict[tuple[str, str], Resource] = {}
        self._by_gvp: dict[tuple[str, str, str], Resource] = {}
        self._served: dict[tuple[str, str, str], _Served] = {}
        self._rand = random.Random()
        for res in BUILTIN:
            self._by_gvk.setdefault((res.api_version, res.kind), res)
            self._by_gvp[(res.group, res.version, res.plural)] = res
        ns = self._by_gvp[("", "v1", "namespaces")]
        for name in DEFAULT_NAMESPACES:
            self.create(ns, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # --- resource table ------------------------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        """The resource serving `kind` at `api_version` (built-in or from a CRD); KeyError if none."""
        try:
            return self._by_gvk[(api_version, kind)]
        except KeyError:
            raise KeyError(f"no resource serves kind {kind!r} in {api_version!r}") from None

    def resource_by_plural(self, group: str, version: str, plural: str) -> Resource:
        try:
            return self._by_gvp[(group, version, plural)]
        except KeyError:
            raise KeyError(f"no resource {plural!r} in group {group!r} version {version!r}") from None

    def resources(self) -> list[Resource]:
        """Every served resource (built-in and custom), in a stable order."""
        return list(self._by_gvp.values())

    def crd_of(self, res: Resource) -> dict | None:
        """The CRD serving `res`, or None for a built-in."""
        served = self._served.get((res.group, res.version, res.plural))
        return served.crd if served else None

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
        served = self._served.get((res.group, res.version, res.plural))
        try:
            fields = parse_field_selector(field_selector, res, served.selectable if served else frozenset())
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

    def _require_namespace(self, res: Resource, namespace: str | None) -> None:
        if not res.namespaced:
            return
        ns = self._data.get(("", "namespaces"), {}).get(("", namespace or ""))
        if ns is None:
            raise ApiStatusError(404, "NotFound", f'namespaces "{namespace}" not found',
                                 {"name": namespace, "kind": "namespaces"})
        if ns["metadata"].get("deletionTimestamp") is not None:
            raise ApiStatusError(403, "Forbidden", f'{res.plural} "{{name}}" is forbidden: unable to create new '
                                 f"content in namespace {namespace} because it is being terminated")

    def create(self, res: Resource, obj: dict, *, dry_run: bool = False) -> dict:
        """Create `obj`: assigns uid, creationTimestamp, generation, resourceVersion, generateName; 409/422/404."""
        obj = self._check_body(res, obj)
        meta = obj["metadata"]
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise invalid(res, "", [("metadata.name", "Required value: name or generateName is required")])
            meta["name"] = meta["generateName"] + "".join(self._rand.choice(_NAME_CHARS) for _ in range(5))
        name, namespace = meta["name"], meta.get("namespace")
        self._require_namespace(res, namespace)
        if causes := _required_causes(res, obj):
            raise invalid(res, name, causes)
        okey = self._okey(res, namespace, name)
        if okey in self._bucket(res):
            raise ApiStatusError(409, "AlreadyExists", f'{qualified(res)} "{name}" already exists',
                                 {"name": name, "group": res.group, "kind": res.plural})
        for drop in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(drop, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock.now())
        meta["generation"] = 1
        self._prepare_status_on_create(res, obj)
        if dry_run:
            return obj
        self._commit("ADDED", res, okey, obj, None)
        if (res.group, res.plural) == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._serve_crd(obj)
        return copy_obj(obj)

    def _prepare_status_on_create(self, res: Resource, obj: dict) -> None:
        key = (res.group, res.plural)
        if key == ("", "namespaces"):
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        elif key == ("", "pods"):
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
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
        if causes := _required_causes(res, obj):
            raise invalid(res, obj["metadata"]["name"], causes)
        if _has_spec_split(res):
            if "status" in old:
                obj["status"] = old["status"]
            else:
                obj.pop("status", None)
        self._keep_system_metadata(obj, old)
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
                self._remove(res, okey, obj)
            return obj
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if obj == old:
            # A no-op write does not bump the resourceVersion, as etcd-backed storage skips it.
            return old
        if dry_run:
            return obj
        self._commit("MODIFIED", res, okey, obj, old)
        if (res.group, res.plural) == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._serve_crd(obj)
        return obj

    def touch(self, res: Resource, namespace: str | None, name: str) -> None:
        """Commit the object unchanged under a new resourceVersion (one MODIFIED event): load for benchmarks."""
        okey = self._okey(res, namespace, name)
        old = self._bucket(res).get(okey)
        if old is None:
            raise not_found(res, name)
        # New top-level and metadata dicts only: the committed `old` stays as the history saw it.
        self._commit("MODIFIED", res, okey, {**old, "metadata": {**old["metadata"]}}, old)

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
            self._orphan(old["metadata"]["uid"])
        elif propagation == "Foreground":
            self._collect(old["metadata"]["uid"])
        if old["metadata"].get("finalizers"):
            if old["metadata"].get("deletionTimestamp"):
                return copy_obj(old)
            obj = {**old, "metadata": {**old["metadata"], "deletionTimestamp": rfc3339(self.clock.now()),
                                       "deletionGracePeriodSeconds": 0}}
            self._commit("MODIFIED", res, okey, obj, old)
            return copy_obj(obj)
        self._remove(res, okey, old)
        return copy_obj(old)

    def _remove(self, res: Resource, okey: ObjKey, obj: dict) -> None:
        key = (res.group, res.plural)
        last = self._bucket(res).get(okey, obj)
        self._commit("DELETED", res, okey, {**obj, "metadata": dict(obj["metadata"])}, last)
        uid = obj["metadata"].get("uid")
        if key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._unserve_crd(obj)
        elif key == ("", "namespaces"):
            self._empty_namespace(okey[1])
        if uid:
            self._schedule_gc(uid)

    def _empty_namespace(self, namespace: str) -> None:
        for (group, plural), bucket in list(self._data.items()):
            res = next((r for r in self._by_gvp.values() if (r.group, r.plural) == (group, plural)), None)
            if res is None or not res.namespaced:
                continue
            for okey, obj in list(bucket.items()):
                if okey[0] == namespace:
                    self._remove(res, okey, obj)

    # --- garbage collection ----------------------------------------------------------------------------------------

    def _dependents(self, uid: str) -> builtins.list[tuple[Resource, ObjKey, dict]]:
        """The objects whose ownerReferences name `uid`, by resource in store order, then by namespace/name."""
        okeys_by_key: dict[Key, builtins.list[ObjKey]] = {}
        for key, okey in self._dependents_of.get(uid, ()):
            okeys_by_key.setdefault(key, []).append(okey)
        out = []
        for (group, plural), bucket in self._data.items():
            okeys = okeys_by_key.get((group, plural))
            res = next((r for r in self._by_gvp.values() if (r.group, r.plural) == (group, plural)), None) \
                if okeys else None
            if res is None:
                continue
            for okey in sorted(okeys or ()):
                if (obj := bucket.get(okey)) is not None:
                    out.append((res, okey, obj))
        return out

    def _index_owners(self, loc: tuple[Key, ObjKey], prev: dict | None, obj: dict | None) -> None:
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

    def _schedule_gc(self, uid: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._collect(uid)
            return
        # Background propagation: dependents go in a later loop iteration, as the real GC does it asynchronously.
        loop.call_soon(self._collect, uid)

    def _collect(self, uid: str) -> None:
        """Delete the dependents of a gone owner, or just drop the reference when another owner remains."""
        for res, okey, obj in self._dependents(uid):
            if self._bucket(res).get(okey) is not obj:
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            others = [r for r in refs if r.get("uid") != uid and r.get("uid") in self._uids]
            if others:
                new = {**obj, "metadata": {**obj["metadata"], "ownerReferences": others}}
                self._commit("MODIFIED", res, okey, new, obj)
            else:
                self.delete(res, okey[0] or None, okey[1])

    def _orphan(self, uid: str) -> None:
        for res, okey, obj in self._dependents(uid):
            refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            new = {**obj, "metadata": {**obj["metadata"], "ownerReferences": refs}}
            if not refs:
                del new["metadata"]["ownerReferences"]
            self._commit("MODIFIED", res, okey, new, obj)

    # --- CRDs ----------------------------------------------------------------------------------------------------

    def _serve_crd(self, crd: dict) -> None:
        self._unserve_crd(crd)
        spec = crd["spec"]
        names = spec["names"]
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            subs = tuple(s for s in ("status", "scale") if s in (version.get("subresources") or spec.get("subresources") or {}))
            res = Resource(spec["group"], version["name"], names["kind"], names["plural"],
                           spec["scope"] == "Namespaced", short_names=tuple(names.get("shortNames") or ()),
                           subresources=subs, categories=tuple(names.get("categories") or ()))
            selectable = frozenset(f["jsonPath"].lstrip(".") for f in version.get("selectableFields") or [])
            self._by_gvk[(res.api_version, res.kind)] = res
            self._by_gvp[(res.group, res.version, res.plural)] = res
            self._served[(res.group, res.version, res.plural)] = _Served(res, crd, selectable)

    def _unserve_crd(self, crd: dict) -> None:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        for key in [k for k in self._served if (k[0], k[2]) == (group, plural)]:
            res = self._served.pop(key).res
            self._by_gvp.pop(key, None)
            if self._by_gvk.get((res.api_version, res.kind)) is res:
                del self._by_gvk[(res.api_version, res.kind)]
        if not any((k[0], k[2]) == (group, plural) for k in self._served):
            self._sorted.pop((group, plural), None)
            self._encoded.pop((group, plural), None)
            for okey, obj in list(self._data.pop((group, plural), {}).items()):
                self._uids.pop(obj["metadata"].get("uid", ""), None)
                self._index_owners(((group, plural), okey), obj, None)

    # --- events and listeners --------------------------------------------------------------------------------------

    def _commit(self, etype: str, res: Resource, okey: ObjKey, obj: dict, prev: dict | None) -> None:
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        key = (res.group, res.plural)
        bucket = self._data.setdefault(key, {})
        uid = obj["metadata"].get("uid")
        encoded = orjson.dumps(obj)
        self._index_owners((key, okey), bucket.get(okey), None if etype == "DELETED" else obj)
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
        self._events.append(WatchEvent(self.resource_version, etype, key, obj, prev, encoded))
        if len(self._events) > self.history + max(1, self.history // 4):
            del self._events[: len(self._events) - self.history]
        for wake in list(self._wakers):
            wake()
        for fn in list(self._listeners):
            fn(etype, res, copy_obj(obj))

    def subscribe(self, fn: Listener) -> Callable[[], None]:
        """Call `fn(type, res, obj_copy)` synchronously after every committed write; returns unsubscribe."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def add_waker(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Call `fn()` (cheap, no arguments) after every commit; the watch handler uses it to wake up."""
        self._wakers.add(fn)
        return lambda: self._wakers.discard(fn)

    def oldest_resource_version(self) -> int:
        """The oldest resourceVersion a watch may start from: events after it are still in the window."""
        return max(0, self.resource_version - self.history)

    def events_after(self, rv: int) -> builtins.list[WatchEvent]:
        """Committed events with resourceVersion > rv; 410 Expired if some of them left the window."""
        if rv < self.oldest_resource_version():
            raise expired(rv, self.oldest_resource_version())
        if not self._events or rv >= self._events[-1].rv:
            return []
        start = rv + 1 - self._events[0].rv
        return self._events[max(0, start):]


def _owner_uids(obj: dict | None) -> frozenset[str]:
    if obj is None:
        return frozenset()
    refs = obj["metadata"].get("ownerReferences")
    if not refs or not isinstance(refs, list):
        return frozenset()
    return frozenset(r["uid"] for r in refs if isinstance(r, dict) and isinstance(r.get("uid"), str) and r["uid"])


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
