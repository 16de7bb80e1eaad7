"""The `scrape` role: find the cluster id, then run every job's cycle on its interval and publish the results."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

from kubevigil.core.readiness import Readiness
from kubevigil.core.signals import Metric
from kubevigil.roles.role import Role, RoleContext
from kubevigil.roles.scrape import clusterid
from kubevigil.roles.scrape.aggregation import Value
from kubevigil.roles.scrape.config import Job, ScrapeSection
from kubevigil.roles.scrape.fetch import REASONS
from kubevigil.roles.scrape.jobs import CycleReport, JobRunner
from kubevigil.roles.scrape.publishing import cycle_metrics, exposed_metrics, partial

log = structlog.get_logger("kubevigil.scrape")

MAX_LISTED_FAILURES = 20  # failures named in /api/scrape and the log line of a cycle


class _Telemetry:
    """kubevigil's own metrics about scraping (labels: job, reason, rule — all bounded by config)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.targets = Gauge("kubevigil_scrape_targets", "Pods of the last cycle, by state (expected, scraped, failed)",
                             ["job", "state"], registry=registry)
        self.failures = Counter("kubevigil_scrape_failures", "Pods that could not be scraped or parsed, by reason",
                                ["job", "reason"], registry=registry)
        self.duration = Gauge("kubevigil_scrape_cycle_duration_seconds", "How long the last cycle took",
                              ["job"], registry=registry)
        self.last = Gauge("kubevigil_scrape_last_cycle_timestamp_seconds", "When the last cycle started",
                          ["job"], registry=registry)
        self.partial = Counter("kubevigil_scrape_partial_cycles", "Cycles below the job's completeness",
                               ["job"], registry=registry)
        self.resets = Counter("kubevigil_scrape_resets", "Counter series seen going down (a restart)",
                              ["job"], registry=registry)
        self.folded = Counter("kubevigil_scrape_groups_folded", "Label groups summed into _other by max_groups",
                              ["job", "rule"], registry=registry)

    def record(self, job: str, report: CycleReport, is_partial: bool) -> None:
        self.targets.labels(job, "expected").set(report.expected)
        self.targets.labels(job, "scraped").set(report.scraped)
        self.targets.labels(job, "failed").set(report.failed)
        for reason in REASONS:
            self.failures.labels(job, reason).inc(sum(1 for f in report.failures if f.reason == reason))
        self.duration.labels(job).set(report.duration)
        self.last.labels(job).set(report.at)
        self.partial.labels(job).inc(1 if is_partial else 0)
        self.resets.labels(job).inc(report.stats.resets)
        for rule, n in report.stats.folded.items():
            self.folded.labels(job, rule).inc(n)


class ScrapeRole(Role):
    name = "scrape"

    def __init__(self, section: ScrapeSection, ctx: RoleContext, environ: Mapping[str, str] = os.environ) -> None:
        self.section = section
        self.ctx = ctx
        self.environ = environ
        self.runners = [JobRunner(job, ctx.api, ctx.clock) for job in section.jobs]
        self.cluster_id: str | None = None
        self.cluster_id_source = ""
        self._cluster_id_error = ""
        self._telemetry = _Telemetry(ctx.registry)

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            for runner in self.runners:
                await runner.watch(self.ctx.informers)
            await self._resolve_cluster_id()
            await asyncio.gather(*(self._loop(r) for r in self.runners))
        finally:
            for runner in self.runners:
                await runner.unwatch()
                await runner.aclose()

    async def _resolve_cluster_id(self) -> None:
        try:
            self.cluster_id, self.cluster_id_source = await clusterid.resolve(
                self.section.cluster_id, self.environ, self.section.imds)
        except clusterid.ClusterIdError as exc:
            self._cluster_id_error = str(exc)
            raise  # the runtime reports it on /readyz and retries with backoff
        self._cluster_id_error = ""
        log.info("cluster id", value=self.cluster_id, source=self.cluster_id_source)

    async def _loop(self, runner: JobRunner) -> None:
        clock, interval = self.ctx.clock, runner.job.interval
        if runner.informer is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await runner.informer.synced.wait()
        next_at = clock.monotonic()
        while True:
            await clock.sleep(next_at - clock.monotonic())
            # After a stall, skip missed cycles instead of running a burst.
            next_at = max(next_at + interval, clock.monotonic() + interval / 2)
            if not runner.synced:
                log.warning("no list of the pods yet; cycle skipped", job=runner.job.name)
                continue
            report = await runner.cycle()
            await self._publish(runner, report)

    # -- output ----------------------------------------------------------------------------------------------

    async def _publish(self, runner: JobRunner, report: CycleReport) -> None:
        job, section = runner.job, self.section
        assert self.cluster_id is not None
        is_partial = partial(job, report)
        self._telemetry.record(job.name, report, is_partial)
        self._log(job, report, is_partial)
        if section.sinks:
            metrics = cycle_metrics(section, job, report, self.cluster_id)
            for name in section.sinks:
                await self._put(name, metrics, job.interval)
        if section.prometheus_sinks:
            exposed = exposed_metrics(section, job, report, self.cluster_id)
            for name in section.prometheus_sinks:
                await self._put(name, exposed, job.interval)

    def _log(self, job: Job, report: CycleReport, is_partial: bool) -> None:
        fields: dict[str, Any] = {"job": job.name, "expected": report.expected, "scraped": report.scraped,
                                  "values": len(report.values), "seconds": round(report.duration, 3)}
        if report.failures:
            fields["failures"] = {f.pod: f"{f.reason}: {f.detail}" for f in report.failures[:MAX_LISTED_FAILURES]}
        if is_partial:
            log.warning("partial cycle", action=job.completeness.below, **fields)
        elif report.failures:
            log.info("cycle", **fields)
        else:
            log.debug("cycle", **fields)

    async def _put(self, sink: str, metrics: Sequence[Metric], interval: float) -> None:
        """Hand a cycle to delivery; a full queue must not hold the next cycle back."""
        try:
            async with asyncio.timeout(interval):  # not wait_for: 3.11's can swallow a cancellation
                await self.ctx.outlets[sink].put(metrics)
        except TimeoutError:
            log.warning("sink queue full; cycle not queued", sink=sink)
        except Exception as exc:
            log.error("could not queue cycle", sink=sink, error=f"{type(exc).__name__}: {exc}")

    # -- runtime surface -------------------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        if self._cluster_id_error:
            return Readiness(False, self._cluster_id_error)
        if self.cluster_id is None:  # docs/scrape.md: not ready while the cluster id is unknown
            return Readiness(False, "the cluster id is not known yet")
        problems: list[str] = []
        for r in self.runners:
            name = r.job.name
            stale_after = max(60.0, 3 * r.job.interval)
            if r.informer is None or not r.informer.synced.is_set():
                problems.append(f"job {name}: pods not listed yet")
            elif (failing := r.informer.watch_failing_for()) > stale_after:
                problems.append(f"job {name}: pod watch failing for {failing:.0f} s")
            elif r.last is not None and r.last.expected and not r.last.scraped:
                problems.append(f"job {name}: none of {r.last.expected} pods answered the last cycle")
        return Readiness(not problems, "; ".join(problems))

    def status(self) -> dict[str, Any]:
        """What /api/scrape shows: the cluster id and each job's last cycle."""
        jobs = []
        for r in self.runners:
            last = r.last
            entry: dict[str, Any] = {"name": r.job.name, "via": r.job.via, "interval": r.job.interval,
                                     "synced": r.synced}
            if last is not None:
                entry.update(at=last.at, expected=last.expected, scraped=last.scraped, failed=last.failed,
                             partial=partial(r.job, last), seconds=round(last.duration, 3),
                             failures=[{"pod": f.pod, "reason": f.reason, "detail": f.detail}
                                       for f in last.failures[:MAX_LISTED_FAILURES]],
                             values={_label(v): v.value for v in last.values})
            jobs.append(entry)
        return {"cluster_id": self.cluster_id, "cluster_id_source": self.cluster_id_source, "jobs": jobs}

    def routes(self) -> Sequence[web.RouteDef]:
        async def handler(_: web.Request) -> web.Response:
            return web.json_response(self.status())

        return [web.get("/api/scrape", handler)]


def _label(v: Value) -> str:
    parts = [f"{k}={val}" for k, val in v.groups]
    if v.breakdown is not None:
        parts.append(f"@{v.breakdown}")
    name: str = v.rule.name
    return name + (f"{{{','.join(parts)}}}" if parts else "")
