"""The informer's object store: plain dicts indexed by (namespace, name) and by uid."""

from __future__ import annotations

from collections.abc import Iterator, KeysView


def key_of(obj: dict) -> tuple[str, str]:
    """(namespace, name) of an object; namespace is "" for cluster-scoped kinds."""
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


class CacheView:
    """Read-only access to an informer's cache. Objects are shared: treat them as immutable."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], dict] = {}
        self._by_uid: dict[str, dict] = {}

    def get(self, namespace: str | None, name: str) -> dict | None:
        return self._by_key.get((namespace or "", name))

    def by_uid(self, uid: str) -> dict | None:
        return self._by_uid.get(uid)

    def list(self, namespace: str | None = None) -> list[dict]:
        """All objects, or those of one namespace."""
        if namespace is None:
            return list(self._by_key.values())
        return [o for (ns, _), o in self._by_key.items() if ns == namespace]

    def keys(self) -> KeysView[tuple[str, str]]:
        return self._by_key.keys()

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[dict]:
        return iter(list(self._by_key.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._by_key


class Cache(CacheView):
    """The writable store, owned by one informer."""

    def put(self, key: tuple[str, str], obj: dict) -> dict | None:
        """Store obj under key; return what it replaced."""
        old = self._by_key.get(key)
        if old is not None:
            self._by_uid.pop(old["metadata"].get("uid", ""), None)
        self._by_key[key] = obj
        uid = obj["metadata"].get("uid")
        if uid:
            self._by_uid[uid] = obj
        return old

    def remove(self, key: tuple[str, str]) -> dict | None:
        old = self._by_key.pop(key, None)
        if old is not None:
            self._by_uid.pop(old["metadata"].get("uid", ""), None)
        return old

    def replace_all(self, objects: dict[tuple[str, str], dict]) -> None:
        self._by_key = objects
        self._by_uid = {o["metadata"]["uid"]: o for o in objects.values() if o["metadata"].get("uid")}
