"""Status writes that tolerate losing a race: a stale or vanished object is simply retried on the next tick."""

from __future__ import annotations

import copy
from typing import Any

from kubevigil.kube.resources import Resource

_RACE_CODES = (404, 409)


def is_race(exc: BaseException) -> bool:
    """A 404/409 from the store: someone else changed or deleted the object between our read and write."""
    return getattr(exc, "code", None) in _RACE_CODES


def write_status(store: Any, res: Resource, obj: dict, status: dict) -> dict | None:
    """Replace obj's status when it differs; returns the stored object, or None when the write lost a race."""
    if obj.get("status") == status:
        return obj
    updated = copy.deepcopy(obj)
    updated["status"] = status
    try:
        return store.replace_status(res, updated)
    except Exception as exc:
        if is_race(exc):
            return None
        raise


def write_object(store: Any, res: Resource, obj: dict) -> dict | None:
    """Replace spec/metadata; None when the write lost a race."""
    try:
        return store.replace(res, obj)
    except Exception as exc:
        if is_race(exc):
            return None
        raise


def delete_object(store: Any, res: Resource, namespace: str | None, name: str) -> bool:
    """Delete with background propagation; False when it was already gone."""
    try:
        store.delete(res, namespace, name, propagation="Background")
    except Exception as exc:
        if is_race(exc):
            return False
        raise
    return True
