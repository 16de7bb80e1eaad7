"""The `events` role: watch Events, find new occurrences, enrich, route, hand to outlets, checkpoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter, Gauge

from kubevigil.core.readiness import Readiness
from kubevigil.core.signals import Record
from kubevigil.kube.factory import Subscription
from kubevigil.kube.informer import Change, Informer, contact_interval
from kubevigil.kube.resources import by_kind
from kubevigil.roles.events.checkpoint import Checkpoint, ConfigMapCheckpoint, FileCheckpoint
from kubevigil.roles.events.config import EventsConfig
from kubevigil.roles.events.enrichment import Enricher, MetaCache
from kubevigil.roles.events.occurrences import (
    Occurrence,
    from_events_v1,
    is_wanted,
    occurrence_count,
    occurrence_time,
)
from kubevigil.roles.events.recent import RecentWarnings
from kubevigil.roles.events.routing import Router
from kubevigil.roles.events.summary import Summary
from kubevigil.roles.role import Role, RoleContext

log = structlog.get_logger("kubevigil.events")
BATCH = 500
QUEUE_SIZE = 5_000
ENRICH_CONCURRENCY = 32
SINK_PUT_TIMEOUT = 10.0  # a summary waits this long for a full metric sink queue, then that period is skipped


@dataclass(frozen=True, slots=True)
class Mark:
    """An occurrence handled without export (too old on the first start, or left out by `repeats`)."""

    uid: str
    count: int


@dataclass(frozen=True, slots=True)
class Forget:
    uids: tuple[str, ...]


Item = Occurrence | Mark | Forget


class EventsMetrics:
    def __init__(self, ctx: RoleContext) -> None:
        r = ctx.registry
        self.received = Counter("kubevigil_events_received_total", "Event occurrences seen by the watch", registry=r)
        self.exported = Counter("kubevigil_events_exported_total", "Records handed to a receiver's queue",
                                ["receiver"], registry=r)
        self.unrouted = Counter("kubevigil_events_unrouted_total", "Occurrences no route sent anywhere", registry=r)
        self.dropped = Counter("kubevigil_events_dropped_total", "Occurrences stopped by a drop rule, by route",
                               ["route"], registry=r)
        self.throttled = Counter("kubevigil_events_throttled_total", "Occurrences over a route's throttle",
                                 ["route"], registry=r)
        self.deduped = Counter("kubevigil_events_deduped_total", "Occurrences collapsed by a route's dedupe",
                               ["route"], registry=r)
        self.skipped = Counter("kubevigil_events_skipped_total",
                               "Occurrences not exported: already exported, left out by `repeats`, too old at first "
                               "start", ["reason"], registry=r)
        self.newest = Gauge("kubevigil_events_newest_event_age_seconds", "Age of the newest occurrence seen",
                            registry=r)


class EventsRole(Role):
    name = "events"

    def __init__(self, cfg: EventsConfig, ctx: RoleContext) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.api = ctx.api
        self.metrics = EventsMetrics(ctx)
        self.router = Router(cfg.route, ctx.clock)
        self.meta_cache = (MetaCache(ctx.api, ctx.clock, cfg.enrichment.cache_size, cfg.enrichment.ttl_seconds,
                                     cfg.enrichment.fetch_timeout_seconds) if cfg.enrichment.enabled else None)
        self.enricher = Enricher(self.meta_cache, ctx.cluster_name)
        self.summary = Summary(ctx.cluster_name, cfg.receivers(), ctx.registry) if cfg.metrics.sinks else None
        self.informer: Informer | None = None
        self.recent = RecentWarnings()  # for the web page
        self._newest = 0.0
        self._seen: dict[str, int] = {}
        self._first_start = False
        self._queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_SIZE)
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics.newest.set_function(lambda: max(0.0, self.ctx.clock.now() - self._newest) if self._newest else 0)

    # -- lifecycle ----------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Watch and export until cancelled (the runtime runs it while the process holds the lease, with leader
        election on): every start resumes from the checkpoint."""
        checkpoint = self._checkpoint()
        loaded = await checkpoint.load()
        self._first_start = loaded is None
        self._seen = dict(loaded or {})
        self._queue = asyncio.Queue(QUEUE_SIZE)
        res = by_kind("Event", "v1" if self.cfg.api == "core" else "events.k8s.io/v1")
        # The pump runs before the watch starts: the handler feeds it. It runs until cancelled; readiness reports
        # it if it ended. Pruning ends after the first sync.
        self._tasks = [asyncio.create_task(self._pump(checkpoint), name="events:pump")]
        if self.summary is not None:
            self._tasks.append(asyncio.create_task(self._publish_summaries(self.summary), name="events:summary"))
        subscription: Subscription | None = None
        prune: asyncio.Task[None] | None = None
        try:
            subscription = await self.ctx.informers.subscribe(
                res, self._on_change, namespace=self.cfg.namespace, name="events", view=event_identity,
                contact_every=contact_interval(self.cfg.stale_after_seconds))
            self.informer = subscription.informer
            log.info("events: watching", api=self.cfg.api, namespace=self.cfg.namespace or "(all)",
                     first_start=self._first_start, checkpointed=len(self._seen))
            prune = asyncio.create_task(self._prune_after_sync(self.informer), name="events:prune")
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            if subscription is not None:
                await subscription.close()
            everything = [*self._tasks, *([prune] if prune else [])]
            for task in everything:
                task.cancel()
            for task in everything:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await checkpoint.close()

    def _checkpoint(self) -> Checkpoint:
        if self.cfg.checkpoint == "file":
            return FileCheckpoint(self.ctx.state_dir)
        return ConfigMapCheckpoint(self.api, self.ctx.pod.namespace, self.cfg.checkpoint_configmap, self.ctx.clock)

    def informers(self) -> Sequence[Informer]:
        return () if self.informer is None else (self.informer,)

    @property
    def stale_after(self) -> float:
        return self.cfg.stale_after_seconds

    def readiness(self) -> Readiness:
        if self.informer is None:
            return Readiness(False, "events: the watch has not started")
        dead = [t.get_name() for t in self._tasks if t.done()]
        if dead:
            return Readiness(False, f"events: {', '.join(dead)} stopped")
        return Readiness(True)

    # -- watch side ---------------------------------------------------------------------------------------------------

    async def _on_change(self, change: Change) -> None:
        uid = (change.obj.get("metadata") or {}).get("uid") or ""
        if not uid:
            return
        if change.type == "DELETED":
            self._seen.pop(uid, None)
            await self._queue.put(Forget((uid,)))
            return
        event = change.obj if self.cfg.api == "core" else from_events_v1(change.obj)
        count = occurrence_count(event)
        last = self._seen.get(uid)
        if last is not None and count <= last:
            if change.type == "ADDED":  # relisted or restarted: already handled
                self.metrics.skipped.labels("already_exported").inc()
            return
        self.metrics.received.inc()
        if self.summary is not None:
            self.summary.seen(event.get("type") or "")
        now = self.ctx.clock.now()
        ts = occurrence_time(event, now)
        self._newest = max(self._newest, ts)
        self._seen[uid] = count
        if event.get("type") == "Warning":
            self.recent.add(ts, event)
        if not is_wanted(count, last, self.cfg.repeats):
            self.metrics.skipped.labels("repeats").inc()
            await self._queue.put(Mark(uid, count))
        elif self._too_old(ts, now):
            self.metrics.skipped.labels("too_old").inc()
            await self._queue.put(Mark(uid, count))
        else:
            await self._queue.put(Occurrence(uid, count, ts, event))

    def _too_old(self, ts: float, now: float) -> bool:
        """maxEventAgeSeconds applies to the initial list of the very first start only; later nothing is cut."""
        informer = self.informer
        return (self._first_start and informer is not None and not informer.synced.is_set()
                and self.cfg.max_event_age_seconds > 0 and now - ts > self.cfg.max_event_age_seconds)

    async def _prune_after_sync(self, informer: Informer) -> None:
        await informer.synced.wait()
        stale = tuple(uid for uid in list(self._seen) if informer.cache.by_uid(uid) is None)
        for uid in stale:
            self._seen.pop(uid, None)
        if stale:
            await self._queue.put(Forget(stale))

    # -- export side --------------------------------------------------------------------------------------------------

    async def _pump(self, checkpoint: Checkpoint) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._process(batch, checkpoint)

    async def _process(self, batch: Sequence[Item], checkpoint: Checkpoint) -> None:
        occurrences = [item for item in batch if isinstance(item, Occurrence)]
        bodies = await self._enrich_all(occurrences)
        groups: dict[str, list[Record]] = {}
        for occ, body in zip(occurrences, bodies, strict=True):
            self._route(occ, body, groups)
        for receiver, records in groups.items():
            await self.ctx.outlets[receiver].put(records)
            self.metrics.exported.labels(receiver).inc(len(records))
            if self.summary is not None:
                self.summary.exported(receiver, len(records))
        marks: dict[str, int] = {}
        forgotten: set[str] = set()
        for item in batch:
            if isinstance(item, Forget):
                forgotten.update(item.uids)
                for uid in item.uids:
                    marks.pop(uid, None)
            else:
                marks[item.uid] = max(item.count, marks.get(item.uid, 0))
                forgotten.discard(item.uid)
        await checkpoint.save(marks)
        if forgotten:
            await checkpoint.forget(forgotten)

    async def _publish_summaries(self, summary: Summary) -> None:
        """Every `metrics.seconds`: the period's summary to the metric sinks, never holding up the export."""
        clock = self.ctx.clock
        while True:
            await clock.sleep(self.cfg.metrics.seconds)
            values = summary.drain(clock.now())
            for name in self.cfg.metrics.sinks:
                try:
                    async with asyncio.timeout(SINK_PUT_TIMEOUT):  # not wait_for: it can swallow a cancellation
                        await self.ctx.outlets[name].put(values)
                except TimeoutError:
                    log.warning("events: metric sink queue full; this period's summary is not queued", sink=name)

    def _route(self, occ: Occurrence, body: dict[str, Any], groups: dict[str, list[Record]]) -> None:
        decision = self.router.route(body, occ.count)
        for path in decision.dropped:
            self.metrics.dropped.labels(path).inc()
        for path in decision.throttled:
            self.metrics.throttled.labels(path).inc()
        for path in decision.deduped:
            self.metrics.deduped.labels(path).inc()
        if not decision.receivers:
            self.metrics.unrouted.inc()
            return
        record = Record(occ.record_id, occ.timestamp, body)
        for receiver in decision.receivers:
            groups.setdefault(receiver, []).append(record)

    async def _enrich_all(self, occurrences: list[Occurrence]) -> list[dict[str, Any]]:
        if len(occurrences) <= 1:
            return [await self.enricher.enrich(o.event) for o in occurrences]
        gate = asyncio.Semaphore(ENRICH_CONCURRENCY)

        async def one(occ: Occurrence) -> dict[str, Any]:
            async with gate:
                return await self.enricher.enrich(occ.event)

        return list(await asyncio.gather(*(one(o) for o in occurrences)))


def event_identity(event: dict[str, Any]) -> dict[str, Any]:
    """What the watch cache keeps of an Event: its identity, enough to diff a relist and to prune the checkpoint.
    The role works on each Event as it arrives, so a busy cluster's live Events need not all be held whole."""
    meta = event.get("metadata") or {}
    return {"metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion") if k in meta}}
