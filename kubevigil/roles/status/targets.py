"""A target's running verdict: per-object health folded into one state, kept up to date change by change."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kubevigil.roles.status.config import Target, mode_text, required_count
from kubevigil.roles.status.health import REPLICA_KINDS, Health, State

ObjectKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds
_REASONS_SHOWN = 3


def _summary(reasons: dict[ObjectKey, str], named: bool) -> str:
    """One line from the first few object reasons; a named target has one object, so no prefix."""
    if named:
        return next(iter(reasons.values()), "")
    shown = [f"{ns + '/' if ns else ''}{name}: {why}" for (ns, name), why in list(reasons.items())[:_REASONS_SHOWN]]
    more = len(reasons) - _REASONS_SHOWN
    return "; ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def fold(spec: Target, counts: Counter[State], unhealthy: dict[ObjectKey, str],
         progressing: dict[ObjectKey, str]) -> Health:
    """The target's health from the states of the objects it matches."""
    total = sum(counts.values())
    named = spec.name is not None
    if total == 0:
        return Health("unhealthy", "not found" if named else "not found: no object matches")
    if spec.kind in REPLICA_KINDS:
        if counts["unhealthy"]:
            return Health("unhealthy", _summary(unhealthy, named))
        if counts["progressing"]:
            return Health("progressing", _summary(progressing, named))
        # a healthy verdict says why too: a log line or /status with an empty reason reads as missing data
        replicas = f"replicas available as {mode_text(spec.mode)} needs"
        return Health("healthy", replicas if named else f"{total} matching, each with {replicas}")
    need = required_count(spec.mode, total)
    if counts["healthy"] >= need:
        return Health("healthy", f"{counts['healthy']} of {total} healthy, {mode_text(spec.mode)} needs {need}")
    if counts["healthy"] + counts["progressing"] >= need:
        return Health("progressing", _summary(progressing, named))
    if named:
        return Health("unhealthy", _summary(unhealthy, named))
    head = f"{counts['healthy']} of {total} healthy, {mode_text(spec.mode)} needs {need}"
    return Health("unhealthy", f"{head}: {_summary(unhealthy, named)}")


@dataclass
class TargetTracker:
    """One target: health of each matched object, the folded verdict, and since when it holds."""

    spec: Target
    since: float
    objects: dict[ObjectKey, Health] = field(default_factory=dict)
    counts: Counter[State] = field(default_factory=Counter)
    unhealthy: dict[ObjectKey, str] = field(default_factory=dict)
    progressing: dict[ObjectKey, str] = field(default_factory=dict)
    health: Health = Health("unhealthy", "not synced yet")

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def value(self) -> int:
        """1 healthy, 0 not; a rollout counts as the target's `during_rollout` says."""
        if self.health.state == "progressing":
            return 1 if self.spec.during_rollout == "healthy" else 0
        return 1 if self.health.state == "healthy" else 0

    def set(self, key: ObjectKey, health: Health) -> None:
        self.remove(key)
        self.objects[key] = health
        self.counts[health.state] += 1
        if health.state == "unhealthy":
            self.unhealthy[key] = health.reason
        elif health.state == "progressing":
            self.progressing[key] = health.reason

    def remove(self, key: ObjectKey) -> None:
        old = self.objects.pop(key, None)
        if old is None:
            return
        self.counts[old.state] -= 1
        self.unhealthy.pop(key, None)
        self.progressing.pop(key, None)

    def clear(self) -> None:
        self.objects.clear()
        self.counts.clear()
        self.unhealthy.clear()
        self.progressing.clear()

    def refold(self, now: float) -> bool:
        """Recompute the verdict; True when the state (not only the reason) changed."""
        new = fold(self.spec, self.counts, self.unhealthy, self.progressing)
        changed = new.state != self.health.state
        if changed:
            self.since = now
        self.health = new
        return changed

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "kind": self.spec.kind,
            "state": self.health.state,
            "value": self.value,
            "reason": self.health.reason,
            "since": self.since,
            "objects": len(self.objects),
        }
