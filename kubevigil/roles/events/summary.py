"""Per period, as Metrics: events seen, Warnings among them, and per receiver the records exported and how its
delivery stands (queue depth, oldest unsent item, dead letters), with bounded dimensions (Cluster, Receiver)."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry

from kubevigil.core.signals import Metric

# Delivery's own gauges and counter, read from the process's registry by their public names (docs/delivery.md).
_DEPTH = "kubevigil_delivery_queue_depth"
_OLDEST = "kubevigil_delivery_oldest_unsent_age_seconds"
_DEAD = "kubevigil_delivery_dead_lettered_total"


class Summary:
    """`seen` and `exported` count the period; `drain` turns it into Metrics and starts the next period."""

    def __init__(self, cluster: str, receivers: list[str], registry: CollectorRegistry) -> None:
        self._cluster = cluster
        self._receivers = receivers
        self._registry = registry
        self._received = self._warnings = 0
        self._exported: Counter[str] = Counter()
        self._dead_before = {r: self._sample(_DEAD, r) for r in receivers}

    def seen(self, event_type: str) -> None:
        self._received += 1
        if event_type == "Warning":
            self._warnings += 1

    def exported(self, receiver: str, records: int) -> None:
        self._exported[receiver] += records

    def drain(self, now: float) -> list[Metric]:
        """Every value of the period, zeros included: a quiet period is 0, only a silent kubevigil is missing."""
        base = (("Cluster", self._cluster),)
        out = [Metric("EventsReceived", float(self._received), now, "Count", "gauge", base),
               Metric("EventsWarnings", float(self._warnings), now, "Count", "gauge", base)]
        for receiver in self._receivers:
            dims = (*base, ("Receiver", receiver))
            out.append(Metric("EventsExported", float(self._exported[receiver]), now, "Count", "gauge", dims))
            depth, oldest, dead = (self._sample(name, receiver) for name in (_DEPTH, _OLDEST, _DEAD))
            if depth is not None:
                out.append(Metric("DeliveryQueueDepth", depth, now, "Count", "gauge", dims))
            if oldest is not None:
                out.append(Metric("DeliveryOldestUnsentAge", oldest, now, "Seconds", "gauge", dims))
            if dead is not None:
                before = self._dead_before.get(receiver) or 0.0
                out.append(Metric("DeliveryDeadLettered", max(0.0, dead - before), now, "Count", "gauge", dims))
                self._dead_before[receiver] = dead
        self._received = self._warnings = 0
        self._exported.clear()
        return out

    def _sample(self, name: str, receiver: str) -> float | None:
        value: float | None = self._registry.get_sample_value(name, {"sink": receiver})
        return value
