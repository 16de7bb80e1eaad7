"""The `status` role: keep every target's health current from watches and publish the heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import Gauge

from kubevigil.core.readiness import Readiness
from kubevigil.core.signals import Metric
from kubevigil.roles.role import Role, RoleContext
from kubevigil.roles.status.config import StatusSection
from kubevigil.roles.status.targets import TargetTracker
from kubevigil.roles.status.watches import Watches

log = structlog.get_logger("kubevigil.status")


class StatusRole(Role):
    name = "status"

    def __init__(self, section: StatusSection, ctx: RoleContext) -> None:
        if ctx.api is None:
            raise RuntimeError("the status role needs a Kubernetes API client (cluster.kubeconfig / in-cluster)")
        missing = [s for s in section.sinks if s not in ctx.outlets]
        if missing and not section.dry_run:
            raise RuntimeError(f"status.sinks: no outlet for {missing}; defined: {sorted(ctx.outlets)}")
        self.section = section
        self.ctx = ctx
        now = ctx.clock.now()
        self.trackers = [TargetTracker(t, since=now) for t in section.targets]
        self.watches = Watches(self.trackers, ctx.api, ctx.clock, ctx.registry, self._target_changed)
        self._by_key = {tr.key: tr for tr in self.trackers}
        self._zero: set[str] = {tr.key for tr in self.trackers if tr.value == 0}
        self._dirty: set[str] = set()
        self._sent: dict[str, int] = {}  # per-target values last handed to the sinks
        self.published_value: int | None = None
        self.published_at: float | None = None
        self.publishes = 0
        self._started = False
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._g_value = Gauge("kubevigil_status_healthy", "The heartbeat: 1 when every status target is healthy",
                              registry=ctx.registry)
        self._g_target = Gauge("kubevigil_status_target_healthy", "1 when this status target is healthy",
                               ["target"], registry=ctx.registry)
        self._g_published = Gauge("kubevigil_status_last_publish_timestamp_seconds",
                                  "When the heartbeat was last handed to its sinks", registry=ctx.registry)

    # -- verdict ---------------------------------------------------------------------------------------------------

    @property
    def value(self) -> int:
        return 0 if self._zero else 1

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
        tasks = [asyncio.create_task(inf.run(), name=f"informer:{key.label}")
                 for key, inf in self.watches.informers.items()]
        try:
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

    async def _wait_synced(self) -> None:
        """Wait for every informer's first list, at most `sync_timeout` (default one interval) on the clock."""
        waits: asyncio.Future[Any] = asyncio.gather(*(inf.synced.wait() for inf in self.watches.informers.values()))
        timer: asyncio.Future[Any] = asyncio.ensure_future(
            self.ctx.clock.sleep(self.section.sync_timeout or self.section.seconds))
        done, _ = await asyncio.wait({waits, timer}, return_when=asyncio.FIRST_COMPLETED)
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

    def _metrics(self, now: float, trackers: list[TargetTracker]) -> list[Metric]:
        """The heartbeat, and the values of `trackers` with the target dimension."""
        m = self.section.metric
        base = self._base_dimensions()
        out = [Metric(m.name, float(self.value), now, m.unit, "gauge", tuple(sorted(base.items())))]
        for tr in trackers:
            dims = tuple(sorted({**base, m.target_dimension: tr.key}.items()))
            out.append(Metric(m.name, float(tr.value), now, m.unit, "gauge", dims))
        return out

    async def _publish(self, why: str) -> None:
        """Every target's value, re-read from the caches (CronJob age moves with time; it also bounds drift)."""
        async with self._lock:
            now = self.ctx.clock.now()
            self.watches.refresh_all(now)
            self._recount()
            self._dirty.clear()
            await self._emit(why, now, self.trackers)

    async def _publish_change(self) -> None:
        """Only what changed since the last publish: the heartbeat and the targets whose value moved."""
        async with self._lock:
            dirty, self._dirty = self._dirty, set()
            moved = [tr for key in dirty if (tr := self._by_key[key]).value != self._sent.get(key)]
            if self.value == self.published_value and not moved:
                return
            await self._emit("change", self.ctx.clock.now(), moved)

    async def _emit(self, why: str, now: float, trackers: list[TargetTracker]) -> None:
        """Publish the heartbeat; `trackers` are the targets whose values go along (with `per_target`)."""
        metrics = self._metrics(now, trackers if self.section.per_target else [])
        self._record(now, trackers)
        if self.section.dry_run:
            log.info("dry run: would publish", why=why, metrics=[x.to_dict() for x in metrics],
                     unhealthy=self._unhealthy())
            return
        if self._zero:
            log.info("publish", why=why, value=self.value, unhealthy=self._unhealthy())
        else:
            log.debug("publish", why=why, value=self.value)
        for name in self.section.sinks:
            await self._put(name, metrics)

    def _unhealthy(self) -> dict[str, str]:
        return {key: self._by_key[key].health.reason for key in sorted(self._zero)[:20]}

    def _record(self, now: float, trackers: list[TargetTracker]) -> None:
        self.published_value, self.published_at = self.value, now
        self.publishes += 1
        self._g_value.set(self.value)
        self._g_published.set(now)
        for tr in trackers:
            self._sent[tr.key] = tr.value
            self._g_target.labels(tr.key).set(tr.value)

    async def _put(self, sink: str, metrics: list[Metric]) -> None:
        """Hand values to delivery; a full queue must not stall the heartbeat past one interval."""
        try:
            await asyncio.wait_for(self.ctx.outlets[sink].put(metrics), timeout=self.section.seconds)
        except TimeoutError:
            log.warning("sink queue full; heartbeat not queued", sink=sink)
        except Exception as exc:  # delivery failing must not stop the heartbeat for other sinks
            log.error("could not queue heartbeat", sink=sink, error=f"{type(exc).__name__}: {exc}")

    # -- runtime surface -------------------------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        if self.watches.synced:
            return Readiness(True)
        pending = [k.label for k, inf in self.watches.informers.items() if not inf.synced.is_set()]
        return Readiness(False, f"informers not synced: {', '.join(pending)}")

    def status(self) -> dict[str, Any]:
        """What /status shows: the heartbeat and each target's state, reason and since when."""
        return {
            "metric": self.section.metric.name,
            "value": self.value,
            "published_value": self.published_value,
            "published_at": self.published_at,
            "synced": self.watches.synced,
            "targets": [tr.snapshot() for tr in self.trackers],
        }

    def routes(self) -> Sequence[web.RouteDef]:
        async def handler(_: web.Request) -> web.Response:
            return web.json_response(self.status())

        return [web.get("/status", handler)]
