"""Per-route rate limits: `throttle` (N per key per window) and `dedupe` (one per key per window)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from kubevigil.core.clock import Clock

MAX_KEYS = 100_000  # bounds memory when keys churn faster than windows expire


def event_key(event: dict[str, Any], paths: Sequence[str]) -> tuple[str, ...]:
    """The values at dotted paths of the event; missing parts are empty strings."""
    out: list[str] = []
    for path in paths:
        value: Any = event
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        out.append("" if value is None else str(value))
    return tuple(out)


class WindowCounter:
    """Counts per key in fixed windows that start at a key's first event; `admit` says whether one more fits."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._windows: OrderedDict[tuple[str, ...], list[float]] = OrderedDict()  # key -> [start, count]

    def admit(self, key: tuple[str, ...]) -> bool:
        now = self.clock.monotonic()
        self._expire(now)
        entry = self._windows.get(key)
        if entry is None:
            self._windows[key] = [now, 1]
            if len(self._windows) > MAX_KEYS:
                self._windows.popitem(last=False)
            return True
        if entry[1] >= self.limit:
            return False
        entry[1] += 1
        return True

    def _expire(self, now: float) -> None:
        # Keys are in order of window start, so expired ones are at the front.
        while self._windows:
            key, (start, _) = next(iter(self._windows.items()))
            if now - start < self.window:
                return
            del self._windows[key]

    def __len__(self) -> int:
        return len(self._windows)
