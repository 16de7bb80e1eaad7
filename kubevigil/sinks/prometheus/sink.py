"""Keeps the latest value per (name, dimensions) and exposes them through a Collector on the registry."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.core import Metric as PromMetric
from prometheus_client.registry import Collector

from kubevigil.core.clock import Clock, SystemClock
from kubevigil.core.signals import Metric, MetricKind
from kubevigil.sinks.prometheus.naming import label_name, metric_name
from kubevigil.sinks.prometheus.params import Params
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, SignalKind, Sink, SinkContext, no_ack


@dataclass(slots=True)
class Series:
    kind: MetricKind
    help: str
    labels: tuple[tuple[str, str], ...]
    value: float
    updated: float  # clock.monotonic() of the last update


class LatestValues(Collector):
    """The series the sink has seen; those not updated for `stale_after` seconds are dropped at scrape."""

    def __init__(self, stale_after: float, clock: Clock) -> None:
        self.stale_after = stale_after
        self.clock = clock
        self.series: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}

    def update(self, name: str, metric: Metric) -> None:
        labels = tuple(sorted((label_name(k), v) for k, v in metric.dimensions))
        help_text = f"{metric.name} ({metric.unit})" if metric.unit != "None" else metric.name
        self.series[(name, labels)] = Series(metric.kind, help_text, labels, metric.value, self.clock.monotonic())

    def describe(self) -> list[PromMetric]:
        return []  # names change at run time; an empty describe keeps the registry from pre-collecting

    def collect(self) -> Iterator[PromMetric]:
        self._drop_stale()
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        for (name, _), series in sorted(self.series.items()):
            family = families.get(name)
            if family is None:
                family = _family(name, series)
                families[name] = family
            elif family.type != ("counter" if series.kind == "counter" else "gauge"):
                continue  # one name seen with two kinds: the first kind's series win
            family.add_metric([v for _, v in series.labels], series.value)
        yield from families.values()

    def _drop_stale(self) -> None:
        oldest = self.clock.monotonic() - self.stale_after
        for key in [k for k, s in self.series.items() if s.updated < oldest]:
            del self.series[key]


def _family(name: str, series: Series) -> GaugeMetricFamily | CounterMetricFamily:
    label_names = [k for k, _ in series.labels]
    if series.kind == "counter":
        return CounterMetricFamily(name.removesuffix("_total"), series.help, labels=label_names)
    return GaugeMetricFamily(name, series.help, labels=label_names)


class PrometheusSink(Sink[Metric]):
    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"metric"})
    limits = BatchLimits(max_items=5000, max_bytes=10_000_000, max_age=0.1)

    def __init__(self, params: Params, ctx: SinkContext, clock: Clock | None = None) -> None:
        self.params = params
        self.ctx = ctx
        self.values = LatestValues(params.stale_after, clock or SystemClock())
        self._registered = False

    async def start(self) -> None:
        self.ctx.registry.register(self.values)
        self._registered = True

    async def close(self) -> None:
        if self._registered:
            self.ctx.registry.unregister(self.values)
            self._registered = False

    async def send(self, batch: Sequence[Metric], ack: Ack = no_ack) -> list[ItemFailure]:
        for metric in batch:
            self.values.update(metric_name(self.params.prefix, metric.name, metric.unit), metric)
        return []
