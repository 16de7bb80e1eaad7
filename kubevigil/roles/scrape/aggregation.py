"""Folding one cycle's pod scrapes into cluster values: sums, extremes, averages and correct counter increases.

Counter state is kept per pod uid and series, so each pod's increase is its own (cni-metrics-helper kept one
last/current pair per metric for all pods, upstream #3844). A pod seen for the first time contributes nothing (there
is no interval to measure yet); a series that appears on a pod already seen contributes its whole value (client
libraries create labelled series at their first increment); a value lower than the last is a restart and counts
as the increase from zero. State of pods that no longer exist is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from kubevigil.roles.scrape.config import INSTANT, Breakdown
from kubevigil.roles.scrape.exposition import Family, Sample
from kubevigil.roles.scrape.rules import Rule

OTHER = "_other"
NO_VALUE = "none"  # CloudWatch refuses empty dimension values

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]
GroupKey = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PodScrape:
    """What one pod answered in a cycle."""

    uid: str
    families: dict[str, Family]
    breakdown: str | None = None  # the pod's node or subnet, when the job breaks values down


@dataclass(frozen=True, slots=True)
class Value:
    """One cluster value of a cycle (or of one node/subnet with `breakdown`)."""

    rule: Rule
    groups: tuple[tuple[str, str], ...]
    breakdown: str | None
    value: float
    total: float | None = None  # delta rules at cluster level: the running sum of increases since start

    @property
    def instant(self) -> bool:
        return self.rule.aggregate in INSTANT


@dataclass(slots=True)
class CycleStats:
    resets: int = 0  # counter series seen going down (a restart)
    folded: dict[str, int] = field(default_factory=dict)  # rule name -> groups summed into _other this cycle


@dataclass(slots=True)
class _Acc:
    """One rule's running result for one (breakdown value, group)."""

    total: float = 0.0
    count: float = 0.0  # mean: increase of _count; avg: pods; delta: pods with a baseline
    extreme: float = math.nan
    seen: bool = False


class _PodCounters:
    """One pod's counter samples this cycle, against its samples of the previous successful scrape."""

    def __init__(self, previous: dict[SeriesKey, float] | None, stats: CycleStats) -> None:
        self.previous = previous
        self.current: dict[SeriesKey, float] = {}
        self.stats = stats

    def increase(self, sample: Sample) -> float | None:
        """The sample's increase since the last scrape; None on the pod's first sight or for a NaN."""
        if not math.isfinite(sample.value):
            return None
        key = (sample.name, tuple(sorted(sample.labels.items())))
        self.current[key] = sample.value
        if self.previous is None:
            return None
        last = self.previous.get(key)
        if last is None:
            return sample.value
        if sample.value < last:
            self.stats.resets += 1
            return sample.value
        return sample.value - last


class Aggregator:
    """Keeps counter state and the admitted label groups of one job's rules across cycles."""

    def __init__(self, rules: Iterable[Rule], breakdown: Breakdown | None = None) -> None:
        self.rules = list(rules)
        self.breakdown = breakdown
        self._broken_down = {r.name for r in self.rules if breakdown is not None
                             and (breakdown.rules is None or r.name in breakdown.rules)}
        self._last: dict[str, dict[SeriesKey, float]] = {}
        self._groups: dict[str, set[GroupKey]] = {r.name: set() for r in self.rules}
        self._breakdowns: set[str] = set()
        self._totals: dict[tuple[str, GroupKey], float] = {}

    @property
    def tracked_pods(self) -> int:
        return len(self._last)

    def forget(self, live_uids: set[str]) -> None:
        """Drop the counter state of pods that are gone."""
        for uid in [u for u in self._last if u not in live_uids]:
            del self._last[uid]

    def cycle(self, scrapes: Iterable[PodScrape]) -> tuple[list[Value], CycleStats]:
        """This cycle's values, computed from the pods that answered; updates counter state."""
        stats = CycleStats()
        accs: dict[str, dict[tuple[str | None, GroupKey], _Acc]] = {r.name: {} for r in self.rules}
        for pod in scrapes:
            counters = _PodCounters(self._last.get(pod.uid), stats)
            where = self._breakdown_value(pod.breakdown)
            for rule in self.rules:
                family = pod.families.get(rule.metric)
                if family is None:
                    continue
                places: tuple[str | None, ...] = (None, where) if where is not None and rule.name in self._broken_down \
                    else (None,)
                self._fold_pod(rule, family, counters, places, accs[rule.name], stats)
            self._last[pod.uid] = counters.current
        return self._values(accs), stats

    # -- one pod -----------------------------------------------------------------------------------------------

    def _fold_pod(self, rule: Rule, family: Family, counters: _PodCounters, places: tuple[str | None, ...],
                  accs: dict[tuple[str | None, GroupKey], _Acc], stats: CycleStats) -> None:
        per_pod: dict[GroupKey, float] = {}
        for sample, part in _samples(rule, family):
            group = self._group(rule, sample, stats)
            if rule.aggregate in ("delta", "mean"):
                inc = counters.increase(sample)
                if inc is None:
                    continue
                for place in places:
                    acc = accs.setdefault((place, group), _Acc())
                    acc.seen = True
                    if part == "count":
                        acc.count += inc
                    else:
                        acc.total += inc
            elif math.isfinite(sample.value):
                per_pod[group] = per_pod.get(group, 0.0) + sample.value if rule.aggregate in ("sum", "avg") \
                    else _extreme(rule.aggregate, per_pod.get(group, math.nan), sample.value)
        for group, value in per_pod.items():
            for place in places:
                acc = accs.setdefault((place, group), _Acc())
                acc.seen = True
                acc.count += 1
                acc.total += value
                acc.extreme = _extreme(rule.aggregate, acc.extreme, value)

    def _group(self, rule: Rule, sample: Sample, stats: CycleStats) -> GroupKey:
        if not rule.group_by:
            return ()
        group = tuple(sample.labels.get(label) or NO_VALUE for label in rule.group_by)
        admitted = self._groups[rule.name]
        if group in admitted:
            return group
        if len(admitted) < rule.max_groups:
            admitted.add(group)
            return group
        stats.folded[rule.name] = stats.folded.get(rule.name, 0) + 1
        return (OTHER,) * len(rule.group_by)

    def _breakdown_value(self, value: str | None) -> str | None:
        if self.breakdown is None or value is None:
            return None
        if value in self._breakdowns:
            return value
        if len(self._breakdowns) < self.breakdown.max_values:
            self._breakdowns.add(value)
            return value
        return OTHER

    # -- the cycle's result ------------------------------------------------------------------------------------

    def _values(self, accs: dict[str, dict[tuple[str | None, GroupKey], _Acc]]) -> list[Value]:
        out: list[Value] = []
        for rule in self.rules:
            for (place, group), acc in sorted(accs[rule.name].items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
                value = _result(rule, acc)
                if value is None:
                    continue
                total = None
                if rule.aggregate == "delta" and place is None:
                    key = (rule.name, group)
                    total = self._totals[key] = self._totals.get(key, 0.0) + value
                out.append(Value(rule, tuple(zip(rule.group_by, group, strict=True)), place, value, total))
        return out


def _samples(rule: Rule, family: Family) -> Iterable[tuple[Sample, str]]:
    """The samples a rule reads, each with its part: value, or sum/count of a summary or histogram."""
    base = rule.metric.removesuffix("_total")
    main = {rule.metric, base, f"{base}_total"}
    structured = family.type in ("summary", "histogram", "gaugehistogram")
    for s in family.samples:
        if rule.match and any(s.labels.get(k) != v for k, v in rule.match.items()):
            continue
        if rule.aggregate == "mean":
            if s.name == f"{base}_sum":
                yield s, "sum"
            elif s.name == f"{base}_count":
                yield s, "count"
        elif rule.aggregate == "delta":
            if (s.name == f"{base}_count") if structured else (s.name in main):
                yield s, "value"
        elif s.name in main and _quantile_matches(rule.quantile, s.labels.get("quantile")):
            yield s, "value"


def _quantile_matches(wanted: float | None, label: str | None) -> bool:
    """A plain value when no quantile is wanted; else the sample of that quantile."""
    if wanted is None or label is None:
        return wanted is None and label is None
    try:
        return math.isclose(float(label), wanted)
    except ValueError:
        return False


def _extreme(op: str, current: float, value: float) -> float:
    if math.isnan(current):
        return value
    return min(current, value) if op == "min" else max(current, value)


def _result(rule: Rule, acc: _Acc) -> float | None:
    if not acc.seen:
        return None
    op = rule.aggregate
    if op in ("sum", "delta"):
        return acc.total
    if op == "avg":
        return acc.total / acc.count if acc.count else None
    if op == "mean":
        return acc.total / acc.count if acc.count > 0 else None
    return None if math.isnan(acc.extreme) else acc.extreme
