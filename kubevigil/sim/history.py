"""The watch history: a bounded window of committed writes that watches replay from a resourceVersion."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubevigil.sim.errors import expired

Key = tuple[str, str]  # (group, plural)


@dataclass(slots=True)
class WatchEvent:
    """One committed write; `prev` lets a filtered watch turn a selector change into ADDED/DELETED."""

    rv: int
    type: str
    key: Key
    obj: dict[str, Any]
    prev: dict[str, Any] | None
    encoded: bytes  # `obj` as JSON, serialised once at commit and shared by every watcher


class WatchHistory:
    """The last `size` events, plus the wakers watch streams register to hear of each new one.

    `start` is the resourceVersion the window begins after when it holds nothing older: 0 for a new store, the
    saved resourceVersion after a restart (the events before it are gone, so older watches get 410)."""

    def __init__(self, size: int, start: int = 0) -> None:
        if size < 1:
            raise ValueError(f"Store history must be at least 1 event, got {size}")
        self.size = size
        self.start = start
        self._events: builtins.list[WatchEvent] = []
        self._wakers: set[Callable[[], None]] = set()

    def append(self, event: WatchEvent) -> None:
        self._events.append(event)
        # Trimmed in steps of a quarter window, not per event: one list shift per size/4 commits.
        if len(self._events) > self.size + max(1, self.size // 4):
            del self._events[: len(self._events) - self.size]
        for wake in list(self._wakers):
            wake()

    def add_waker(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Call `fn()` (cheap, no arguments) after every commit; returns the function that removes it."""
        self._wakers.add(fn)
        return lambda: self._wakers.discard(fn)

    def oldest(self, current: int) -> int:
        """The oldest resourceVersion a watch may start from: events after it are still in the window."""
        return max(self.start, current - self.size, 0)

    def after(self, rv: int, current: int) -> builtins.list[WatchEvent]:
        """Committed events with resourceVersion > rv; 410 Expired if some of them left the window."""
        oldest = self.oldest(current)
        if rv < oldest:
            raise expired(rv, oldest)
        if not self._events or rv >= self._events[-1].rv:
            return []
        start = rv + 1 - self._events[0].rv
        return self._events[max(0, start):]
