"""The status role's panel on the web page: the heartbeat's recent verdicts and each target's state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubevigil.roles.status.role import HISTORY_SECONDS, StatusRole


async def panel(role: StatusRole, query: Mapping[str, str]) -> dict[str, Any] | None:
    """What /status shows, plus the verdicts of the last hours (value None: withheld while the view was stale)."""
    return {**role.status(), "now": role.ctx.clock.now(), "window_seconds": HISTORY_SECONDS,
            "history": [[at, value] for at, value in role.history]}
