"""The informer's object store: plain dicts indexed by (namespace, name) and by uid."""

from __future__ import annotations

from collections.abc import Callable, Iterator, KeysView
from typing import Any


def key_of(obj: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name) of an object; namespace is "" for cluster-scoped kinds."""
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


def share_strings(obj: dict[str, Any], table: dict[str, str]) -> None:
    """Replace every string value inside `obj` (in place) by an equal one from `table`, adding those it lacks.

    Objects passed with one table then hold one copy of each repeated value (images, label values, mount paths,
    condition types): 10k EKS pods take ~30 % less memory. Keys need no help: orjson already shares them.
    """
    try:
        _share_in_dict(obj, table.setdefault)
    except RecursionError:
        pass  # nested deeper than Python's recursion limit: that object keeps its own strings


def _share_in_dict(node: dict[str, Any], shared: Callable[[str, str], str]) -> None:
    # Recursive, not an explicit stack: ~20 % faster, and this runs for every string of every listed object.
    for k, v in node.items():
        t = type(v)
        if t is str:
            node[k] = shared(v, v)
        elif t is dict:
            _share_in_dict(v, shared)
        elif t is list:
            _share_in_list(v, shared)


def _share_in_list(node: list[Any], shared: Callable[[str, str], str]) -> None:
    for i, v in enumerate(node):
        t = type(v)
        if t is str:
            node[i] = shared(v, v)
        elif t is dict:
            _share_in_dict(v, shared)
        elif t is list:
            _share_in_list(v, shared)


class CacheView:
    """Read-only access to an informer's cache. Objects are shared: treat them as immutable."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], dict[str, Any]] = {}
        self._by_uid: dict[str, dict[str, Any]] = {}

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self._by_key.get((namespace or "", name))

    def at(self, key: tuple[str, str]) -> dict[str, Any] | None:
        """The object under a `key_of` key."""
        return self._by_key.get(key)

    def by_uid(self, uid: str) -> dict[str, Any] | None:
        return self._by_uid.get(uid)

    def list(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """All objects, or those of one namespace."""
        if namespace is None:
            return list(self._by_key.values())
        return [o for (ns, _), o in self._by_key.items() if ns == namespace]

    def keys(self) -> KeysView[tuple[str, str]]:
        return self._by_key.keys()

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._by_key.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._by_key


class Cache(CacheView):
    """The writable store, owned by one informer."""

    def put(self, key: tuple[str, str], obj: dict[str, Any]) -> dict[str, Any] | None:
        """Store obj under key; return what it replaced."""
        old = self._by_key.get(key)
        uid = obj["metadata"].get("uid")
        if old is not None and (old_uid := old["metadata"].get("uid", "")) != uid:
            self._by_uid.pop(old_uid, None)
        self._by_key[key] = obj
        if uid:
            self._by_uid[uid] = obj
        return old

    def remove(self, key: tuple[str, str]) -> dict[str, Any] | None:
        old = self._by_key.pop(key, None)
        if old is not None:
            self._by_uid.pop(old["metadata"].get("uid", ""), None)
        return old

    def replace_all(self, objects: dict[tuple[str, str], dict[str, Any]]) -> None:
        self._by_key = objects
        self._by_uid = {o["metadata"]["uid"]: o for o in objects.values() if o["metadata"].get("uid")}
