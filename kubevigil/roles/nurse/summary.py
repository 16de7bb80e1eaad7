"""Per check class and period: p99 latency, error rate and count, as Metrics with bounded dimensions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kubevigil.core.signals import Metric
from kubevigil.roles.nurse.probe import Outcome

NEIGHBOURS = "neighbours"  # every path_<node> check counts in this one class: dimensions stay bounded


def check_class(check_type: str) -> str:
    return NEIGHBOURS if check_type.startswith("path_") else check_type


@dataclass(slots=True)
class _Window:
    seconds: list[float] = field(default_factory=list)  # latencies of answered checks
    total: int = 0
    errors: int = 0


class Summary:
    """Collects outcomes; `drain` turns the period into NurseCheckLatencyP99, NurseCheckErrorRate and
    NurseCheckCount per (Cluster, Node, Check), and starts the next period."""

    def __init__(self, cluster: str, node: str) -> None:
        self._base = (("Cluster", cluster), ("Node", node))
        self._windows: dict[str, _Window] = {}

    def add(self, outcome: Outcome) -> None:
        window = self._windows.setdefault(check_class(outcome.check_type), _Window())
        window.total += 1
        if not outcome.ok:
            window.errors += 1
        if outcome.seconds is not None:
            window.seconds.append(outcome.seconds)

    def drain(self, now: float) -> list[Metric]:
        windows, self._windows = self._windows, {}
        out: list[Metric] = []
        for name, window in sorted(windows.items()):
            dims = tuple(sorted((*self._base, ("Check", name))))
            out.append(Metric("NurseCheckCount", float(window.total), now, "Count", "gauge", dims))
            out.append(Metric("NurseCheckErrorRate", 100.0 * window.errors / window.total, now, "Percent", "gauge",
                              dims))
            if window.seconds:
                out.append(Metric("NurseCheckLatencyP99", p99(window.seconds), now, "Seconds", "gauge", dims))
        return out


def p99(values: list[float]) -> float:
    """The nearest-rank 99th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
