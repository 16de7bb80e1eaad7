"""One scrape job's cycle: the targets from the informer cache, scraped with bounded concurrency, then aggregated."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.core.history import History
from kubevigil.kube.factory import InformerFactory, Subscription
from kubevigil.kube.informer import Informer
from kubevigil.kube.resources import by_kind
from kubevigil.roles.scrape.aggregation import Aggregator, CycleStats, PodScrape, Value
from kubevigil.roles.scrape.config import Job
from kubevigil.roles.scrape.exposition import ExpositionError, Wanted, parse
from kubevigil.roles.scrape.fetch import DirectFetcher, Fetcher, ProxyFetcher, ScrapeFailed, fetch_within
from kubevigil.roles.scrape.targets import Target, pod_view, subnet_of, target_of

# What the web page draws over time: each cycle's cluster-level values for the last six hours.
HISTORY_SECONDS = 6 * 3600.0
HISTORY_POINTS = 4096


@dataclass(frozen=True, slots=True)
class CyclePoint:
    """One cycle in the job's history: completeness and the cluster-level values (no groups, no breakdown)."""

    expected: int
    scraped: int
    values: dict[str, float]


@dataclass(frozen=True, slots=True)
class Failure:
    pod: str  # namespace/name
    reason: str
    detail: str


@dataclass
class CycleReport:
    """What one cycle saw and computed."""

    at: float  # wall time the cycle started: every datum of the cycle carries it
    expected: int
    scraped: int
    failures: list[Failure]
    values: list[Value]
    stats: CycleStats = field(default_factory=CycleStats)
    duration: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def completeness(self) -> float:
        return self.scraped / self.expected if self.expected else 1.0


class JobRunner:
    """A job's pod watch (while watching), its fetcher and its aggregation state."""

    def __init__(self, job: Job, api: Any, clock: Clock) -> None:
        self.job = job
        self.clock = clock
        self.informer: Informer | None = None
        self._subscription: Subscription | None = None
        self.fetcher: Fetcher = (
            ProxyFetcher(api, job.port, job.path, max_bytes=job.max_bytes) if job.via == "proxy"
            else DirectFetcher(job.port, job.path, max_bytes=job.max_bytes, concurrency=job.concurrency))
        self.wanted = Wanted.of(r.metric for r in job.rule_list())
        self.aggregator = Aggregator(job.rule_list(), job.breakdown)
        self.last: CycleReport | None = None
        self.history: History[CyclePoint] = History(HISTORY_POINTS, HISTORY_SECONDS)

    async def watch(self, informers: InformerFactory) -> None:
        """Subscribe to the job's pods (shared with any role watching the same pods the same way), with fresh counter
        bases: after a pause (another replica led meanwhile and published those increases) old bases would count
        them twice."""
        self.aggregator = Aggregator(self.job.rule_list(), self.job.breakdown)
        self._subscription = await informers.subscribe(
            by_kind("Pod"), namespace=self.job.namespace, label_selector=self.job.selector, view=pod_view,
            name=f"scrape:{self.job.name}")
        self.informer = self._subscription.informer

    async def unwatch(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
        self._subscription = self.informer = None

    @property
    def synced(self) -> bool:
        return self.informer is not None and self.informer.synced.is_set()

    def pods(self) -> list[dict[str, Any]]:
        return self.informer.cache.list() if self.informer is not None else []

    def targets(self) -> list[Target]:
        return [t for pod in self.pods() if (t := target_of(pod)) is not None]

    async def cycle(self) -> CycleReport:
        """Scrape every target once (at most `concurrency` at a time) and aggregate what answered."""
        at, started = self.clock.now(), self.clock.monotonic()
        targets = self.targets()
        gate = asyncio.Semaphore(self.job.concurrency)
        results = await asyncio.gather(*(self._scrape(t, gate) for t in targets))
        scrapes = [r for r in results if isinstance(r, PodScrape)]
        failures = [r for r in results if isinstance(r, Failure)]
        self.aggregator.forget({pod["metadata"].get("uid", "") for pod in self.pods()})
        values, stats = self.aggregator.cycle(scrapes)
        report = CycleReport(at, len(targets), len(scrapes), failures, values, stats,
                             self.clock.monotonic() - started)
        self.last = report
        cluster = {v.rule.name: v.value for v in values if not v.groups and v.breakdown is None}
        self.history.add(at, CyclePoint(report.expected, report.scraped, cluster))
        return report

    async def _scrape(self, target: Target, gate: asyncio.Semaphore) -> PodScrape | Failure:
        async with gate:
            try:
                content_type, body = await fetch_within(self.fetcher, target, self.job.timeout)
            except ScrapeFailed as exc:
                return Failure(f"{target.namespace}/{target.name}", exc.reason, exc.detail)
        try:
            families = parse(body, content_type, self.wanted)
        except ExpositionError as exc:
            return Failure(f"{target.namespace}/{target.name}", "parse", str(exc))
        return PodScrape(target.uid, families, self._breakdown_of(target))

    def _breakdown_of(self, target: Target) -> str | None:
        breakdown = self.job.breakdown
        if breakdown is None:
            return None
        if breakdown.by == "node":
            return target.node or None
        return subnet_of(target.host_ip or target.ip, breakdown.prefix_length)

    async def aclose(self) -> None:
        await self.fetcher.aclose()
