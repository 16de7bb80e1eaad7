"""What the store's helpers (garbage collector, namespace lifecycle, service addresses) may use of the store: its committed objects.

A Protocol here, not the Store class, so the helpers do not import the store that owns them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from kubevigil.kube.resources import Resource

Key = tuple[str, str]  # (group, plural)
ObjKey = tuple[str, str]  # (namespace or "", name)


class ResourceLookup(Protocol):
    def by_key(self, key: Key) -> Resource | None: ...


class StoredObjects(Protocol):
    """Reads and commits on the store's objects, as the store's own helpers need them."""

    @property
    def table(self) -> ResourceLookup: ...

    def buckets(self) -> Iterator[tuple[Key, dict[ObjKey, dict]]]: ...

    def stored(self, res: Resource, okey: ObjKey) -> dict | None: ...

    def stored_by_key(self, key: Key, okey: ObjKey) -> dict | None: ...

    def uid_exists(self, uid: object) -> bool: ...

    def commit(self, etype: str, res: Resource, okey: ObjKey, obj: dict, prev: dict | None) -> None: ...

    def delete(self, res: Resource, namespace: str | None, name: str, *, dry_run: bool = ...,
               propagation: str = ...) -> dict: ...

    def remove(self, res: Resource, okey: ObjKey, obj: dict) -> None: ...

    def resource(self, api_version: str, kind: str) -> Resource: ...

    def list_raw(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                 field_selector: str | None = None) -> list[dict]: ...
