"""When a check runs: a fixed interval or a cron expression, plus a per-check jitter seeded by the check's uid."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

from kubevigil.roles.checks.durations import parse_duration

_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
           "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}


@dataclass(frozen=True, slots=True)
class Schedule:
    every: float | None = None
    cron: str | None = None

    def following(self, after: float) -> float:
        """The first scheduled time strictly after `after` (before jitter)."""
        if self.every is not None:
            return after + self.every
        assert self.cron is not None
        return float(croniter(self.cron, datetime.fromtimestamp(after, UTC)).get_next(float))

    def interval_hint(self) -> float | None:
        """The interval for `every`; for cron, the gap between its next two times from now on (a typical period)."""
        if self.every is not None:
            return self.every
        assert self.cron is not None
        times = croniter(self.cron, datetime(2024, 1, 1, tzinfo=UTC))
        first = times.get_next(float)
        return float(times.get_next(float) - first)

    def describe(self) -> str:
        return f"every {self.every:g}s" if self.every is not None else f"cron {self.cron!r}"


def schedule_from_cron(text: str) -> Schedule:
    """A 5-field cron, an @hourly-style macro, or robfig/cron's '@every 1m30s'; ValueError naming the problem."""
    text = text.strip()
    if text.startswith("@every"):
        seconds = parse_duration(text[len("@every"):].strip())
        if seconds <= 0:
            raise ValueError(f"schedule {text!r}: @every needs a positive duration")
        return Schedule(every=seconds)
    expr = _MACROS.get(text, text)
    if len(expr.split()) != 5 or not croniter.is_valid(expr):
        raise ValueError(f"schedule {text!r} is not a 5-field cron expression, an @hourly-style macro or '@every 1m'")
    return Schedule(cron=expr)


def jitter_offset(uid: str, schedule: Schedule, ratio: float, cap: float) -> float:
    """A stable offset in [0, min(cap, ratio * interval)), the same for a check across restarts and replicas."""
    interval = schedule.interval_hint() or 0.0
    span = min(cap, ratio * interval)
    if span <= 0:
        return 0.0
    fraction = int.from_bytes(hashlib.sha256(uid.encode()).digest()[:8], "big") / 2**64
    return fraction * span


def next_run(schedule: Schedule, previous: float | None, offset: float, now: float) -> float:
    """When to run next, given the previous scheduled time (jitter included), or None before the first run.

    The schedule continues from the previous slot, so a restart neither skips nor repeats a run; one overdue slot
    runs at once, several missed ones run once.
    """
    if previous is None:
        if schedule.every is not None:
            return now + offset
        return schedule.following(now) + offset
    due = schedule.following(previous - offset) + offset
    return max(due, now) if due > previous else now
