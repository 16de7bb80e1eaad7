"""Keeps the latest value per (name, dimensions) and exposes them through a Collector on the registry."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import structlog
from prometheus_client.core import Metric as PromMetric
from prometheus_client.registry import Collector

from kubevigil.core.clock import Clock, SystemClock
from kubevigil.core.signals import Metric, MetricKind
from kubevigil.sinks.prometheus.naming import base_unit_value, label_names, metric_name
from kubevigil.sinks.prometheus.params import Params
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, SignalKind, Sink, SinkContext, no_ack

Labels = tuple[tuple[str, str], ...]
log = structlog.get_logger("kubevigil.sinks.prometheus")


@dataclass(slots=True)
class Series:
    kind: MetricKind
    help: str
    labels: Labels  # the series' own full label set: series of one family may carry different label names
    value: float
    updated: float  # clock.monotonic() of the last update


class LatestValues(Collector):
    """The series the sink has seen; those not updated for `stale_after` seconds are dropped at scrape."""

    def __init__(self, stale_after: float, clock: Clock) -> None:
        self.stale_after = stale_after
        self.clock = clock
        self.series: dict[tuple[str, Labels], Series] = {}
        self._kinds: dict[str, MetricKind] = {}  # a family has one type: the kind its name was first seen with
        self._mixed: set[str] = set()  # names already warned about

    def update(self, name: str, metric: Metric) -> None:
        kind = self._kinds.setdefault(name, metric.kind)
        if kind != metric.kind:
            if name not in self._mixed:
                self._mixed.add(name)
                log.warning("metric seen with two kinds; only the first is exposed", metric=name, exposed=kind,
                            dropped=metric.kind)
            return
        labels = label_names(metric.dimensions)
        help_text = f"{metric.name} ({metric.unit})" if metric.unit != "None" else metric.name
        value = base_unit_value(metric.value, metric.unit)
        self.series[(name, labels)] = Series(metric.kind, help_text, labels, value, self.clock.monotonic())

    def describe(self) -> list[PromMetric]:
        return []  # names change at run time; an empty describe keeps the registry from pre-collecting

    def collect(self) -> Iterator[PromMetric]:
        self._drop_stale()
        families: dict[str, PromMetric] = {}
        for (name, labels), series in sorted(self.series.items()):
            family = families.get(name)
            if family is None:
                family = families[name] = _family(name, series)
            sample = f"{family.name}_total" if family.type == "counter" else family.name
            family.add_sample(sample, dict(labels), series.value)
        yield from families.values()

    def _drop_stale(self) -> None:
        oldest = self.clock.monotonic() - self.stale_after
        for key in [k for k, s in self.series.items() if s.updated < oldest]:
            del self.series[key]


def _type(kind: MetricKind) -> str:
    return "counter" if kind == "counter" else "gauge"


def _family(name: str, series: Series) -> PromMetric:
    # prometheus_client's Metric takes a counter's name without `_total` and adds it back in the exposition
    return PromMetric(name.removesuffix("_total") if series.kind == "counter" else name, series.help,
                      _type(series.kind))


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
