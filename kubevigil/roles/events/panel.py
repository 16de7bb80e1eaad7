"""The events role's panel on the web page: Warnings per minute, top reasons and objects, the latest Warnings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from kubevigil.roles.events.role import EventsRole

TOP = 8
LATEST = 25
TOP_WINDOW = 3600.0
FILTERS = ("namespace", "reason", "kind")
MAX_CHOICES = 100


async def panel(role: EventsRole, query: Mapping[str, str]) -> dict[str, Any] | None:
    """None until the watch runs (a standby replica has nothing to show); `query` filters the latest Warnings by
    namespace, reason and kind."""
    if role.informer is None:
        return None
    now = role.ctx.clock.now()
    kept = role.recent.latest()
    filters = {key: query[key] for key in FILTERS if query.get(key)}
    chosen = [w for w in kept if all(getattr(w, key) == value for key, value in filters.items())]
    reasons, objects = role.recent.top(now - TOP_WINDOW, TOP)
    return {
        "now": now,
        "synced": role.informer.synced.is_set(),
        "total": role.recent.total,
        "rate": [[at, n] for at, n in role.recent.rate(now)],
        "top_reasons": [{"reason": r, "count": n} for r, n in reasons],
        "top_objects": [{"object": o, "count": n} for o, n in objects],
        "filters": filters,
        "choices": {key: sorted({getattr(w, key) for w in kept})[:MAX_CHOICES] for key in FILTERS},
        "matching": len(chosen),
        "latest": [{**asdict(w), "object": w.object} for w in chosen[:LATEST]],
        "receivers": sorted({ref[1] for ref in role.cfg.sink_refs()}),
    }
