"""The events role's per-period summary for metric sinks: counts of the period, receivers' delivery state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from kubevigil.delivery.metrics import DeliveryMetrics
from kubevigil.roles.events.summary import Summary


def values(metrics: list) -> dict[tuple[str, str], float]:
    return {(m.name, dict(m.dimensions).get("Receiver", "")): m.value for m in metrics}


def test_a_period_counts_events_warnings_exports_and_delivery_state() -> None:
    registry = CollectorRegistry()
    delivery = DeliveryMetrics(registry)
    delivery.watch("search", lambda: 7.0, lambda: 42.0, lambda: 0.0)
    dead = delivery.for_sink("search").dead_lettered
    dead.inc(3)  # before the role started: not this period's
    summary = Summary("prod", ["search", "page"], registry)
    for kind in ("Normal", "Warning", "Warning"):
        summary.seen(kind)
    summary.exported("search", 3)
    summary.exported("page", 2)
    dead.inc(2)
    first = summary.drain(100.0)
    assert all(m.timestamp == 100.0 and dict(m.dimensions)["Cluster"] == "prod" for m in first)
    assert values(first) == {
        ("EventsReceived", ""): 3, ("EventsWarnings", ""): 2,
        ("EventsExported", "search"): 3, ("DeliveryQueueDepth", "search"): 7,
        ("DeliveryOldestUnsentAge", "search"): 42, ("DeliveryDeadLettered", "search"): 2,
        ("EventsExported", "page"): 2,  # a sink delivery does not know (no journal yet): counts only
    }
    quiet = values(summary.drain(160.0))
    assert quiet[("EventsReceived", "")] == 0 and quiet[("EventsExported", "search")] == 0
    assert quiet[("DeliveryDeadLettered", "search")] == 0  # a quiet period is 0, not missing
