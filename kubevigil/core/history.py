"""A bounded in-memory history of timed values: what a role keeps so the web page can draw the last hours."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class History(Generic[T]):
    """(time, value) points in time order, at most `max_points` and none older than `max_age` before the newest."""

    def __init__(self, max_points: int, max_age: float) -> None:
        if max_points < 1 or max_age <= 0:
            raise ValueError("a history needs room for a point and a positive age")
        self.max_age = max_age
        self._points: deque[tuple[float, T]] = deque(maxlen=max_points)

    def add(self, at: float, value: T) -> None:
        """Append a point; a point older than the newest is dropped (the history is in time order)."""
        if self._points and at < self._points[-1][0]:
            return
        self._points.append((at, value))
        horizon = at - self.max_age
        while self._points[0][0] < horizon:
            self._points.popleft()

    def since(self, start: float) -> list[tuple[float, T]]:
        """Points at or after `start`, oldest first."""
        return [p for p in self._points if p[0] >= start]

    def __iter__(self) -> Iterator[tuple[float, T]]:
        return iter(self._points)

    def __len__(self) -> int:
        return len(self._points)
