"""The `status` role: keep every target's health current from watches and publish the heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import Gauge

from kubevigil.core.history import History
from kubevigil.core.logs import NEW_EPISODE
from kubevigil.core.outage import Outage
from kubevigil.core.signals import Metric
from kubevigil.kube.informer import Informer
from kubevigil.roles.role import Role, RoleContext
from kubevigil.roles.status.config import StatusSection
from kubevigil.roles.status.targets import TargetTracker
from kubevigil.roles.status.watches import Watches

log = structlog.get_logger("kubevigil.status")

# What the web page's strip shows: every verdict of the last six hours (None where a stale view withheld it).
HISTORY_SECONDS = 6 * 3600.0
HISTORY_POINTS = 4096


class StatusRole(Role):
    name = "status"

    def __init__(self, section: StatusSection, ctx: RoleContext) -> None:
        self.section = section
        self.ctx = ctx
        now = ctx.clock.now()
        self.trackers = [TargetTracker(t, since=now) for t in section.targets]
        self.watches = Watches(self.trackers, ctx.clock, self._target_changed, stale_after=section.stale_after)
        self._by_key = {tr.key: tr for tr in self.trackers}
        self._zero: set[str] = {tr.key for tr in self.trackers if tr.value == 0}
        self._dirty: set[str] = set()
        self._sent: dict[str, int] = {}  # per-target values last handed to the sinks
        self._stale: dict[str, float] = {}  # targets whose view is stale (seconds), as of the last publish
        self._stale_outage = Outage()
        self.withheld = ""  # why the last publish did not send a healthy heartbeat; "" when it did not hold one back
        self.published_value: int | None = None
        self.published_at: float | None = None
        self.publishes = 0
        self.history: History[int | None] = History(HISTORY_POINTS, HISTORY_SECONDS)
        self._started = False
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._g_value = Gauge("kubevigil_status_healthy", "The heartbeat: 1 when every status target is healthy",
                              registry=ctx.registry)
        self._g_target = Gauge("kubevigil_status_target_healthy", "1 when this status target is healthy",
                               ["target"], registry=ctx.registry)
        self._g_published = Gauge("kubevigil_status_last_publish_timestamp_seconds",
                                  "When the heartbeat was last handed to its sinks", registry=ctx.registry)
        self._g_stale = Gauge("kubevigil_status_stale_targets",
                              "Targets whose view of the cluster is stale: their healthy values are not published",
                              registry=ctx.registry)

    # -- verdict ---------------------------------------------------------------------------------------------------

    @property
    def value(self) -> int | None:
        """The heartbeat that may be published: 0 when a target with a fresh view is unhealthy, else 1 when no view
        is stale; with a stale view, what `when_stale` says (None: publish nothing)."""
        if self._zero - self._stale.keys():
            return 0
        if self._stale:
            return 0 if self.section.when_stale == "zero" else None
        return 1

    def _target_value(self, tracker: TargetTracker) -> int | None:
        if tracker.key in self._stale and tracker.value:
            return 0 if self.section.when_stale == "zero" else None
        return tracker.value

    def _recount(self) -> None:
        self._zero = {tr.key for tr in self.trackers if tr.value == 0}

    def _target_changed(self, tracker: TargetTracker, state_changed: bool) -> None:
        # Kept incrementally: with thousands of targets, a change must not cost a pass over all of them.
        if tracker.value:
            self._zero.discard(tracker.key)
        else:
            self._zero.add(tracker.key)
        if not self._started:
            return
        if state_changed:
            log.info("target changed", target=tracker.key, state=tracker.health.state, reason=tracker.health.reason)
        if self.section.publish_on_change:
            self._dirty.add(tracker.key)
            self._changed.set()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        tasks: list[asyncio.Task[None]] = []
        try:
            await self.watches.start(self.ctx.informers)
            await self._wait_synced()
            await self._publish("start")
            self._started = True
            if self.section.publish_on_change:
                tasks.append(asyncio.create_task(self._publish_changes(), name="status:on-change"))
            await self._tick()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.watches.stop()

    async def _wait_synced(self) -> None:
        """Wait for every informer's first list, at most `sync_timeout` (default one interval) on the clock."""
        waits: asyncio.Future[Any] = asyncio.gather(*(inf.synced.wait() for inf in self.watches.informers.values()))
        timer: asyncio.Future[Any] = asyncio.ensure_future(
            self.ctx.clock.sleep(self.section.sync_timeout or self.section.seconds))
        try:
            done, _ = await asyncio.wait({waits, timer}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # stopped while waiting: end both, so no orphan reports its cancellation
            waits.cancel()
            timer.cancel()
            await asyncio.gather(waits, timer, return_exceptions=True)
            raise
        timer.cancel()
        if waits not in done:
            waits.cancel()
            pending = [k.label for k, inf in self.watches.informers.items() if not inf.synced.is_set()]
            log.warning("not synced in time; publishing 0 for targets without a view", informers=pending)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(timer, waits, return_exceptions=True)

    async def _tick(self) -> None:
        clock, seconds = self.ctx.clock, self.section.seconds
        next_at = clock.monotonic() + seconds
        while True:
            await clock.sleep(next_at - clock.monotonic())
            # After a stall, skip missed ticks instead of publishing a burst.
            next_at = max(next_at + seconds, clock.monotonic() + seconds / 2)
            await self._publish("interval")

    async def _publish_changes(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            await self._publish_change()

    # -- output ----------------------------------------------------------------------------------------------------

    def _base_dimensions(self) -> dict[str, str]:
        m = self.section.metric
        base = dict(m.dimensions)
        if m.cluster_dimension:
            base[m.cluster_dimension] = self.ctx.cluster_name
        return base

    def _metrics(self, now: float, value: int | None, trackers: list[TargetTracker]) -> list[Metric]:
        """The heartbeat (unless withheld), and the values of `trackers` with the target dimension."""
        m = self.section.metric
        base = self._base_dimensions()
        out = [] if value is None else [Metric(m.name, float(value), now, m.unit, "gauge", tuple(sorted(base.items())))]
        for tr in trackers:
            if (target_value := self._target_value(tr)) is not None:
                dims = tuple(sorted({**base, m.target_dimension: tr.key}.items()))
                out.append(Metric(m.name, float(target_value), now, m.unit, "gauge", dims))
        return out

    async def _publish(self, why: str) -> None:
        """Every target's value, re-read from the caches (CronJob age moves with time; it also bounds drift)."""
        async with self._lock:
            now = self.ctx.clock.now()
            self.watches.refresh_all(now)
            self._recount()
            self._dirty.clear()
            self._check_staleness()
            await self._emit(why, now, self.trackers)

    async def _publish_change(self) -> None:
        """Only what changed since the last publish: the heartbeat and the targets whose value moved."""
        async with self._lock:
            self._check_staleness()
            dirty, self._dirty = self._dirty, set()
            moved = [tr for key in dirty if self._target_value(tr := self._by_key[key]) != self._sent.get(key)]
            if self.value == self.published_value and not moved:
                return
            await self._emit("change", self.ctx.clock.now(), moved)

    def _check_staleness(self) -> None:
        """Which targets' views are stale now; log when that starts, now and then while it lasts, and when it ends."""
        bound = self.section.stale_after
        self._stale = self.watches.stale(bound)
        self._g_stale.set(len(self._stale))
        mono = self.ctx.clock.monotonic()
        if not self._stale:
            self.withheld = ""
            ended = self._stale_outage.recovered(mono)
            if ended is not None:
                log.info("view of the cluster is fresh again; publishing healthy values resumes",
                         after_seconds=round(ended[0], 1))
            return
        self.withheld = self._staleness_reason(bound)
        report = self._stale_outage.failed(mono)
        if report == "first":
            log.warning("view of the cluster is stale; healthy values are not published", why=self.withheld,
                        when_stale=self.section.when_stale, stale_targets=sorted(self._stale)[:20], **NEW_EPISODE)
        elif report == "summary":
            log.warning("view of the cluster is still stale", why=self.withheld, when_stale=self.section.when_stale,
                        stale_targets=sorted(self._stale)[:20], stale_for=round(self._stale_outage.duration(mono)))

    def _staleness_reason(self, bound: float) -> str:
        infs = {inf.name: inf for tr in self.trackers if tr.key in self._stale for inf in self.watches.informers_of(tr)}
        worst = max(infs.values(), key=lambda i: i.stale_for())
        error = f"; last error: {worst.last_error}" if worst.last_error else ""
        return (f"{len(self._stale)} target(s) have a stale view: no word from the API server {worst.api.server} "
                f"for {worst.stale_for():.0f}s (stale after {bound:g}s){error}")

    async def _emit(self, why: str, now: float, trackers: list[TargetTracker]) -> None:
        """Publish the heartbeat; `trackers` are the targets whose values go along (with `per_target`)."""
        value = self.value
        metrics = self._metrics(now, value, trackers if self.section.per_target else [])
        self._record(now, value, trackers)
        if self._zero:
            log.info("publish", why=why, value=value, unhealthy=self._unhealthy())
        else:
            log.debug("publish", why=why, value=value)
        if not metrics:
            return
        for name in self.section.sinks:
            await self._put(name, metrics)

    def _unhealthy(self) -> dict[str, str]:
        return {key: self._by_key[key].health.reason for key in sorted(self._zero)[:20]}

    def _record(self, now: float, value: int | None, trackers: list[TargetTracker]) -> None:
        self._g_value.set(value or 0)  # 1 only for a healthy verdict from a fresh view
        for tr in trackers:
            target_value = self._target_value(tr)
            self._g_target.labels(tr.key).set(target_value or 0)
            if target_value is not None:
                self._sent[tr.key] = target_value
        self.history.add(now, value)
        if value is None:
            return
        self.published_value, self.published_at = value, now
        self.publishes += 1
        self._g_published.set(now)

    async def _put(self, sink: str, metrics: list[Metric]) -> None:
        """Hand values to delivery; a full queue must not stall the heartbeat past one interval."""
        try:
            async with asyncio.timeout(self.section.seconds):  # not wait_for: 3.11's can swallow a cancellation
                await self.ctx.outlets[sink].put(metrics)
        except TimeoutError:
            log.warning("sink queue full; heartbeat not queued", sink=sink)
        except Exception as exc:
            log.error("could not queue heartbeat", sink=sink, error=f"{type(exc).__name__}: {exc}")

    # -- runtime surface -------------------------------------------------------------------------------------------

    def informers(self) -> Sequence[Informer]:
        return list(self.watches.informers.values())

    @property
    def stale_after(self) -> float:
        return self.section.stale_after

    def status(self) -> dict[str, Any]:
        """What /status shows: the heartbeat and each target's state, reason and since when; why values are held
        back while the view of the cluster is stale."""
        return {
            "metric": self.section.metric.name,
            "value": self.value,
            "published_value": self.published_value,
            "published_at": self.published_at,
            "synced": self.watches.synced,
            "stale_after_seconds": self.section.stale_after,
            "when_stale": self.section.when_stale,
            "withheld": self.withheld or None,
            "targets": [{**tr.snapshot(), "stale_seconds": round(self._stale[tr.key], 1) if tr.key in self._stale
                         else None} for tr in self.trackers],
        }

    def routes(self) -> Sequence[web.RouteDef]:
        async def handler(_: web.Request) -> web.Response:
            return web.json_response(self.status())

        return [web.get("/status", handler)]
