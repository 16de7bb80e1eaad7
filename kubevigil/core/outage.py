"""A fault that starts, lasts and ends, and when each stage deserves a log line: first, summaries, recovery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Report = Literal["first", "summary"]


@dataclass
class Outage:
    """Tracks one kind of failure of one part: the first failure is reported, then one summary per
    `summary_every` seconds while it lasts, and the recovery once. Times are the caller's monotonic clock."""

    summary_every: float = 60.0
    since: float | None = None
    failures: int = 0
    _reported_at: float = 0.0

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, now: float) -> Report | None:
        """Count one failure; say whether this one should be logged (and how), or None to stay quiet."""
        self.failures += 1
        if self.since is None:
            self.since = self._reported_at = now
            return "first"
        if now - self._reported_at >= self.summary_every:
            self._reported_at = now
            return "summary"
        return None

    def duration(self, now: float) -> float:
        return 0.0 if self.since is None else now - self.since

    def recovered(self, now: float) -> tuple[float, int] | None:
        """End the outage: (how long it lasted, failures counted), or None if there was none."""
        if self.since is None:
            return None
        ended = (now - self.since, self.failures)
        self.since, self.failures = None, 0
        return ended
