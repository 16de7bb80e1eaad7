"""Delivery's own Prometheus metrics, one child per sink (label `sink`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class SinkMetrics:
    """The children of the delivery metrics for one sink."""

    sent: Counter
    failed: Counter
    retried: Counter
    dead_lettered: Counter
    send_duration: Histogram


class DeliveryMetrics:
    """Creates the metric families once per registry and hands out per-sink children."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter(
            "kubevigil_delivery_sent", "Items a sink accepted", ["sink"], registry=registry
        )
        self.failed = Counter(
            "kubevigil_delivery_failed", "Send attempts that failed or timed out", ["sink"], registry=registry
        )
        self.retried = Counter(
            "kubevigil_delivery_retried", "Items scheduled for another send attempt", ["sink"], registry=registry
        )
        self.dead_lettered = Counter(
            "kubevigil_delivery_dead_lettered", "Items written to the dead-letter file", ["sink"], registry=registry
        )
        self.queue_depth = Gauge(
            "kubevigil_delivery_queue_depth", "Items accepted and not yet delivered", ["sink"], registry=registry
        )
        self.oldest_unsent_age = Gauge(
            "kubevigil_delivery_oldest_unsent_age_seconds",
            "Age of the oldest item not yet delivered (0 when the queue is empty)",
            ["sink"],
            registry=registry,
        )
        self.access_denied = Gauge(
            "kubevigil_delivery_access_denied",
            "1 while the sink refuses kubevigil's credentials or destination (401, 403, 404): items wait, not lost",
            ["sink"],
            registry=registry,
        )
        self.send_duration = Histogram(
            "kubevigil_delivery_send_duration_seconds",
            "Duration of one send to the sink",
            ["sink"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )

    def for_sink(self, sink: str) -> SinkMetrics:
        """The counters and histogram children for `sink`."""
        return SinkMetrics(
            sent=self.sent.labels(sink),
            failed=self.failed.labels(sink),
            retried=self.retried.labels(sink),
            dead_lettered=self.dead_lettered.labels(sink),
            send_duration=self.send_duration.labels(sink),
        )

    def watch(self, sink: str, depth: Callable[[], float], oldest_age: Callable[[], float],
              access_denied: Callable[[], float]) -> None:
        """Compute `sink`'s queue depth, oldest unsent age and access state at scrape time."""
        self.queue_depth.labels(sink).set_function(depth)
        self.oldest_unsent_age.labels(sink).set_function(oldest_age)
        self.access_denied.labels(sink).set_function(access_denied)
