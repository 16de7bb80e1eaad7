"""Figures the page reads from the process's own Prometheus registry: per-sink delivery.

The metrics are delivery's public surface (dashboards and alerts read the same names), so
the page shows exactly what /metrics says, without reaching into their objects.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

# the page's column -> the sample read for it (one per sink, label `sink`)
DELIVERY = {
    "sent": "kubevigil_delivery_sent_total",
    "failed_attempts": "kubevigil_delivery_failed_total",
    "queued": "kubevigil_delivery_queue_depth",
    "oldest_unsent_seconds": "kubevigil_delivery_oldest_unsent_age_seconds",
    "dead_letters": "kubevigil_delivery_dead_lettered_total",
    "access_denied": "kubevigil_delivery_access_denied",
}
BEHIND_SECONDS = 60.0  # a sink whose oldest unsent item is older than this is marked behind


def _samples(registry: CollectorRegistry, names: list[str]) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in registry.restricted_registry(names).collect()
            for s in family.samples]


def delivery(registry: CollectorRegistry) -> list[dict[str, Any]]:
    """One row per sink: sent, failed attempts, queued, oldest unsent (s), dead letters, whether the sink refuses
    access (1.0) and whether it is behind."""
    column = {sample: col for col, sample in DELIVERY.items()}
    rows: dict[str, dict[str, Any]] = {}
    for name, labels, value in _samples(registry, list(DELIVERY.values())):
        if name in column and "sink" in labels:
            rows.setdefault(labels["sink"], dict.fromkeys(DELIVERY, 0.0))[column[name]] = value
    return [{"sink": sink, **row, "behind": row["oldest_unsent_seconds"] > BEHIND_SECONDS}
            for sink, row in sorted(rows.items())]

