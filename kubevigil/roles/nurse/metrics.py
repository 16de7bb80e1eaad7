"""kubenurse's metrics, with its names and labels, on the process's /metrics.

One collector holds every series in plain dicts keyed by the check type, so the series of a neighbour that left
are dropped in one step (kubenurse kept them forever). Histograms use `le` buckets, or VictoriaMetrics' `vmrange`
buckets as kubenurse's KUBENURSE_VICTORIAMETRICS_HISTOGRAM does.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from kubevigil.roles.nurse.probe import Outcome

PREFIX = "kubenurse_"
REQUEST_DURATION = PREFIX + "httpclient_request_duration_seconds"
TRACE_DURATION = PREFIX + "httpclient_trace_request_duration_seconds"
REQUESTS = PREFIX + "httpclient_requests"  # exposed with the _total suffix
ERRORS = PREFIX + "errors"
INCOMING = PREFIX + "neighbourhood_incoming_checks"
ROUND_TRIP_ERROR = "round_trip_error"  # kubenurse's `code` label when no response arrived

# VictoriaMetrics/metrics' PrometheusHistogramDefaultBuckets, which kubenurse uses by default.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_HELP = {
    REQUEST_DURATION: "latency histogram for request duration, partitioned by request type",
    TRACE_DURATION: "latency histogram for httpclient trace metric instrumentation, partitioned by request type "
                    "and httptrace connection events",
    REQUESTS: "counter for the total number of http requests, partitioned by HTTP code and request type",
    ERRORS: "error counter, partitioned by error class (or status_code_<code>) and request type",
    INCOMING: "how many unique neighbours have queried this pod in the last minute",
}


class Histogram(Protocol):
    def observe(self, value: float) -> None: ...


class LeHistogram:
    """Prometheus buckets: a count per upper bound, cumulated when exposed."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        out, total = [], 0
        for bound, count in zip(self.bounds, self.counts, strict=False):
            total += count
            out.append((floatToGoString(bound), float(total)))  # type: ignore[no-untyped-call]
        out.append(("+Inf", float(total + self.counts[-1])))
        return out


class VmHistogram:
    """VictoriaMetrics buckets: 18 per power of ten from 1e-9 to 1e18, exposed only when non-empty."""

    E10_MIN, E10_MAX, PER_DECADE = -9, 18, 18
    __slots__ = ("counts", "sum", "total")
    _ranges: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}  # bucket index, -1 below 1e-9, -2 above 1e18
        self.sum = 0.0
        self.total = 0

    def observe(self, value: float) -> None:
        if math.isnan(value) or value < 0:
            return
        self.sum += value
        self.total += 1
        position = (math.log10(value) - self.E10_MIN) * self.PER_DECADE if value > 0 else -1.0
        if position < 0:
            index = -1
        elif position >= (self.E10_MAX - self.E10_MIN) * self.PER_DECADE:
            index = -2
        else:
            index = int(position)
            if index == position and index > 0:
                index -= 1  # 10^n belongs to the bucket below, as with `le` buckets
        self.counts[index] = self.counts.get(index, 0) + 1

    def ranges(self) -> Iterator[tuple[str, int]]:
        if not VmHistogram._ranges:
            VmHistogram._ranges = _vm_ranges()
        for index in sorted(self.counts, key=lambda i: (i != -1, i == -2, i)):
            if index == -1:
                yield f"0...{10.0**self.E10_MIN:.3e}", self.counts[index]
            elif index == -2:
                yield f"{10.0**self.E10_MAX:.3e}...+Inf", self.counts[index]
            else:
                yield VmHistogram._ranges[index], self.counts[index]


def _vm_ranges() -> list[str]:
    # Built by repeated multiplication, as VictoriaMetrics does, so the labels match its text exactly.
    step = 10 ** (1.0 / VmHistogram.PER_DECADE)
    value = 10.0**VmHistogram.E10_MIN
    start, out = f"{value:.3e}", []
    for _ in range((VmHistogram.E10_MAX - VmHistogram.E10_MIN) * VmHistogram.PER_DECADE):
        value *= step
        end = f"{value:.3e}"
        out.append(f"{start}...{end}")
        start = end
    return out


class NurseMetrics(Collector):
    """Every kubenurse series of this nurse; `observe` after each check, `forget` the types that went away."""

    def __init__(self, buckets: Sequence[float] | None, victoriametrics: bool, incoming: Callable[[], int]) -> None:
        bounds = tuple(buckets) if buckets else DEFAULT_BUCKETS
        self._new: Callable[[], LeHistogram | VmHistogram] = VmHistogram if victoriametrics else (
            lambda: LeHistogram(bounds))
        self._incoming = incoming
        self._duration: dict[str, LeHistogram | VmHistogram] = {}
        self._trace: dict[tuple[str, str], LeHistogram | VmHistogram] = {}
        self._requests: dict[tuple[str, str], int] = {}
        self._errors: dict[tuple[str, str], int] = {}

    def observe(self, outcome: Outcome) -> None:
        kind = outcome.check_type
        code = str(outcome.status) if outcome.status is not None else ROUND_TRIP_ERROR
        self._requests[(kind, code)] = self._requests.get((kind, code), 0) + 1
        if outcome.status is not None and outcome.seconds is not None:
            self._histogram(self._duration, kind).observe(outcome.seconds)
        if outcome.event is not None:
            self._errors[(kind, outcome.event)] = self._errors.get((kind, outcome.event), 0) + 1
        for event, seconds in outcome.phases:
            self._histogram(self._trace, (kind, event)).observe(seconds)

    def _histogram(self, table: dict[Any, LeHistogram | VmHistogram], key: object) -> LeHistogram | VmHistogram:
        found = table.get(key)
        if found is None:
            found = table[key] = self._new()
        return found

    def forget(self, check_types: Iterable[str]) -> None:
        """Drop every series of these check types (a neighbour that left, a check no longer made)."""
        gone = set(check_types)
        for table in (self._trace, self._requests, self._errors):
            for key in [k for k in table if k[0] in gone]:
                del table[key]
        for kind in gone:
            self._duration.pop(kind, None)

    def check_types(self) -> set[str]:
        return {k[0] for k in self._requests}

    def describe(self) -> list[Metric]:
        return []  # series come and go with the neighbours; nothing to check for name clashes up front

    def collect(self) -> Iterator[Metric]:
        yield from self._histograms(REQUEST_DURATION, ["type"], {(k,): h for k, h in self._duration.items()})
        yield from self._histograms(TRACE_DURATION, ["type", "event"], dict(self._trace))
        requests = CounterMetricFamily(REQUESTS, _HELP[REQUESTS], labels=["type", "code"])
        for labels, value in sorted(self._requests.items()):
            requests.add_metric(list(labels), value)
        errors = CounterMetricFamily(ERRORS, _HELP[ERRORS], labels=["type", "event"])
        for labels, value in sorted(self._errors.items()):
            errors.add_metric(list(labels), value)
        yield requests
        yield errors
        yield GaugeMetricFamily(INCOMING, _HELP[INCOMING], value=self._incoming())

    def _histograms(self, name: str, labels: list[str], series: dict[Any, LeHistogram | VmHistogram]
                    ) -> Iterator[Metric]:
        items = sorted(series.items())
        le = [(values, h) for values, h in items if isinstance(h, LeHistogram)]
        vm = [(values, h) for values, h in items if isinstance(h, VmHistogram)]
        if le or not vm:
            family = HistogramMetricFamily(name, _HELP[name], labels=labels)
            for values, le_hist in le:
                family.add_metric(list(values), le_hist.cumulative(), le_hist.sum)
            yield family
        if vm:
            yield from _vm_families(name, labels, vm)


def _vm_families(name: str, labels: list[str], series: list[tuple[Any, VmHistogram]]) -> Iterator[Metric]:
    """vmrange buckets are not `le` buckets: exposed as untyped _bucket, _sum and _count families."""
    buckets = Metric(name + "_bucket", _HELP[name] + " (VictoriaMetrics vmrange buckets)", "unknown")
    sums = Metric(name + "_sum", _HELP[name] + " (sum)", "unknown")
    counts = Metric(name + "_count", _HELP[name] + " (count)", "unknown")
    for values, hist in series:
        base = dict(zip(labels, values, strict=True))
        for vmrange, count in hist.ranges():
            buckets.add_sample(name + "_bucket", {**base, "vmrange": vmrange}, float(count))
        sums.add_sample(name + "_sum", base, hist.sum)
        counts.add_sample(name + "_count", base, float(hist.total))
    yield from (buckets, sums, counts)
