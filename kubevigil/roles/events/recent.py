"""The Warnings the events role saw lately, kept bounded in memory for the web page: rate, top reasons, latest."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

KEPT = 1000  # latest Warnings kept whole (the list, its filters, and top reasons and objects are drawn from these)
MINUTES = 60  # the per-minute rate covers this many minutes
MESSAGE_CHARS = 1024  # a pod may write a huge message; the page needs the start of it


@dataclass(frozen=True, slots=True)
class SeenWarning:
    at: float  # when it happened (the occurrence's time)
    namespace: str
    kind: str
    name: str
    reason: str
    message: str
    count: int
    component: str

    @property
    def object(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


def seen_warning(at: float, event: dict[str, Any]) -> SeenWarning:
    """The parts of a core/v1 Warning Event the page shows."""
    involved = event.get("involvedObject") or {}
    source = event.get("source") or {}
    return SeenWarning(
        at=at, namespace=str(involved.get("namespace") or (event.get("metadata") or {}).get("namespace") or ""),
        kind=str(involved.get("kind") or ""), name=str(involved.get("name") or ""),
        reason=str(event.get("reason") or ""), message=str(event.get("message") or "")[:MESSAGE_CHARS],
        count=int(event.get("count") or 1), component=str(source.get("component") or
                                                          event.get("reportingComponent") or ""))


class RecentWarnings:
    """The latest `kept` Warnings and a count per minute of every Warning occurrence in the last `minutes`."""

    def __init__(self, kept: int = KEPT, minutes: int = MINUTES) -> None:
        self.minutes = minutes
        self._latest: deque[SeenWarning] = deque(maxlen=kept)
        self._per_minute: dict[int, int] = {}
        self.total = 0

    def add(self, at: float, event: dict[str, Any]) -> None:
        self.total += 1
        self._latest.append(seen_warning(at, event))
        minute = int(at // 60)
        self._per_minute[minute] = self._per_minute.get(minute, 0) + 1
        newest = max(self._per_minute)
        for old in [m for m in self._per_minute if m <= newest - self.minutes]:
            del self._per_minute[old]

    def rate(self, now: float) -> list[tuple[float, int]]:
        """(minute start, Warnings in that minute) for the last `minutes` minutes up to now, oldest first."""
        current = int(now // 60)
        return [(m * 60.0, self._per_minute.get(m, 0)) for m in range(current - self.minutes + 1, current + 1)]

    def latest(self) -> list[SeenWarning]:
        """The kept Warnings, newest first."""
        return sorted(self._latest, key=lambda w: w.at, reverse=True)

    def top(self, since: float, limit: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """The most frequent reasons and objects among the kept Warnings since `since`."""
        recent = [w for w in self._latest if w.at >= since]
        reasons = Counter(w.reason for w in recent).most_common(limit)
        objects = Counter(w.object for w in recent).most_common(limit)
        return reasons, objects
