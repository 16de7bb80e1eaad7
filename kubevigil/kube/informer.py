"""An informer: list, then watch from the list's resourceVersion, keeping a cache of plain dicts.

It also knows how stale its cache is: the time since it last heard from the server (a list, the server accepting a
watch, a watch event or bookmark, a watch ending normally). A quiet but healthy watch is told from a dead one by
bookmarks and, where none come, by asking again: after `contact_every` seconds without a word the informer ends the
watch and starts another from the same resourceVersion, and the server accepting it is the contact.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import orjson
import structlog
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kubevigil.core.backoff import backoff_delay
from kubevigil.core.clock import Clock, SystemClock
from kubevigil.core.logs import NEW_EPISODE
from kubevigil.core.outage import Outage
from kubevigil.core.readiness import Readiness
from kubevigil.kube.cache import Cache, CacheView, key_of, share_strings
from kubevigil.kube.client import KubeApi
from kubevigil.kube.errors import REQUEST_ERRORS, UNREACHABLE, ApiError, describe
from kubevigil.kube.resources import Resource

log = structlog.get_logger("kubevigil.kube.informer")

ChangeType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True, slots=True)
class Change:
    """One change to the cache; `old` is the object it replaced (None for ADDED)."""

    type: ChangeType
    obj: dict[str, Any]
    old: dict[str, Any] | None


Handler = Callable[[Change], Awaitable[None]]

# Errors after which the watch resumes from the last seen resourceVersion.
TRANSIENT = (*REQUEST_ERRORS, orjson.JSONDecodeError)
# Of those, the ones that mean no server answered at all (down, restarting, another certificate): the one that
# answers next may hold other data, so the informer relists instead of resuming.
# A stream that ends cleanly sooner than this without any event counts as a failure (no hot loop).
MIN_QUIET_STREAM = 1.0
# kube-apiserver sends each bookmark-enabled watcher a bookmark about once a minute: a watch that hears nothing, not
# even a bookmark, for longer than this is not being served (e.g. it asks for a resourceVersion the server's
# restored store does not have yet, which a real server answers with silence) and the informer relists.
RELIST_AFTER_SILENCE = 150.0

WatchEnd = Literal["progress", "quick", "quiet"]


EVENT_TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK")
_NO_CHANGES: tuple[Change, ...] = ()


@dataclass(slots=True)
class InformerStats:
    """An informer's own counts, kept as plain numbers: prometheus calls per event cost more than the cache update."""

    relists: int = 0
    watch_restarts: int = 0
    handler_errors: int = 0
    events: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, 0))
    last_event: float = 0.0  # time the last watch event (incl. bookmarks) arrived; 0 = none yet


class InformerCollector(Collector):
    """Exposes the stats of every live informer on one registry; informers sharing a name are summed."""

    _per_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, InformerCollector]] = (
        weakref.WeakKeyDictionary())

    def __init__(self) -> None:
        self._informers: weakref.WeakSet[Informer] = weakref.WeakSet()

    @classmethod
    def on(cls, registry: CollectorRegistry) -> InformerCollector:
        collector = cls._per_registry.get(registry)
        if collector is None:
            collector = cls._per_registry[registry] = cls()
            registry.register(collector)
        return collector

    def add(self, informer: Informer) -> None:
        self._informers.add(informer)

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        relists, restarts, events, last, objects, stale, failing, handler_errors = self._families()
        by_name: dict[str, list[Informer]] = {}
        for inf in list(self._informers):
            by_name.setdefault(inf.name, []).append(inf)
        for name, infs in sorted(by_name.items()):
            stats = [i.stats for i in infs]
            relists.add_metric([name], sum(s.relists for s in stats))
            restarts.add_metric([name], sum(s.watch_restarts for s in stats))
            for etype in EVENT_TYPES:
                events.add_metric([name, etype], sum(s.events[etype] for s in stats))
            last.add_metric([name], max(s.last_event for s in stats))
            objects.add_metric([name], sum(len(i.cache) for i in infs))
            stale.add_metric([name], max(i.stale_for() for i in infs))
            failing.add_metric([name], 1.0 if any(i.failing for i in infs) else 0.0)
            handler_errors.add_metric([name], sum(s.handler_errors for s in stats))
        yield from (relists, restarts, events, last, objects, stale, failing, handler_errors)

    @staticmethod
    def _families() -> tuple[CounterMetricFamily, CounterMetricFamily, CounterMetricFamily, GaugeMetricFamily,
                             GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, CounterMetricFamily]:
        return (
            CounterMetricFamily("kubevigil_informer_relists", "Relists after the watch could not resume (410 Gone)",
                                labels=["informer"]),
            CounterMetricFamily("kubevigil_informer_watch_restarts",
                                "Watches re-established after an error or a dropped connection", labels=["informer"]),
            CounterMetricFamily("kubevigil_informer_events", "Watch events received, by type",
                                labels=["informer", "type"]),
            GaugeMetricFamily("kubevigil_informer_last_event_timestamp_seconds",
                              "Time the last watch event (incl. bookmarks) arrived", labels=["informer"]),
            GaugeMetricFamily("kubevigil_informer_objects", "Objects in the informer cache", labels=["informer"]),
            GaugeMetricFamily("kubevigil_informer_stale_seconds",
                              "Seconds since the informer last heard from the API server (list, watch accepted, "
                              "event, bookmark)", labels=["informer"]),
            GaugeMetricFamily("kubevigil_informer_failing",
                              "1 while the informer's list/watch requests are failing", labels=["informer"]),
            CounterMetricFamily("kubevigil_informer_handler_errors",
                                "Changes a handler raised on (the role's view of that object may be wrong)",
                                labels=["informer"]),
        )


class Informer:
    """Keeps `cache` equal to the server's view of one resource and calls handlers with each change."""

    def __init__(self, api: KubeApi, res: Resource, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None, name: str | None = None,
                 clock: Clock | None = None, registry: CollectorRegistry = REGISTRY,
                 watch_timeout: int = 300, page_size: int | None = 500,
                 backoff_base: float = 0.2, backoff_cap: float = 30.0, rng: random.Random | None = None,
                 cache_view: Callable[[dict[str, Any]], dict[str, Any]] | None = None, contact_every: float = 30.0,
                 relist_after_silence: float = RELIST_AFTER_SILENCE, summary_every: float = 60.0) -> None:
        self.api = api
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.name = name or f"{res.plural}{'.' + res.group if res.group else ''}"
        self.clock = clock or SystemClock()
        self.watch_timeout = watch_timeout
        self.page_size = page_size
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.contact_every = contact_every
        self.relist_after_silence = relist_after_silence
        self._rng = rng or random.Random()
        # What the cache keeps of each object (client-go's transform): handlers still get the whole object, but
        # `old` and a relist's DELETED carry only the view, which must keep metadata.uid and resourceVersion.
        self._view = cache_view or _whole
        self.synced = asyncio.Event()
        self.resource_version = ""
        self._cache = Cache()
        self._handlers: list[Handler] = []
        # Held while the cache changes and its changes reach the handlers, so a handler that subscribes late gets
        # the cache as it is between two changes: each object exactly once, then every later change.
        self._dispatch = asyncio.Lock()
        self._handler_outage = Outage(summary_every)
        self._handler_failed_at = 0.0
        self._failures = 0
        self._outage = Outage(summary_every)
        self.last_error = ""  # why the last attempt failed, one line; "" once it works again
        self._contact = self.clock.monotonic()  # when the server was last heard from
        self._heard = self._contact  # when the last watch event or bookmark arrived (or the last list)
        self._unreachable = False  # an attempt failed before the server answered: relist when it is back
        self._connected = False  # the current watch request has been accepted
        self.stats = InformerStats()
        InformerCollector.on(registry).add(self)

    @property
    def cache(self) -> CacheView:
        return self._cache

    def add_handler(self, fn: Handler) -> None:
        """Call fn for every change, in order; the initial list arrives as ADDED changes. Before `run` only: a
        running informer takes handlers through `subscribe`."""
        self._handlers.append(fn)

    async def subscribe(self, fn: Handler) -> None:
        """Add a handler to a running informer: it gets each cached object as ADDED (client-go's replay), then every
        later change. The replay hands over what the cache keeps (the `cache_view`, when one is set)."""
        async with self._dispatch:
            self._handlers.append(fn)
            for obj in self._cache.list():
                await self._call(fn, Change("ADDED", obj, None))

    def unsubscribe(self, fn: Handler) -> None:
        """Stop calling fn: no change dispatched after this returns reaches it (one being dispatched may)."""
        self._handlers = [h for h in self._handlers if h is not fn]

    def stale_for(self) -> float:
        """Seconds since the server was last heard from: how old the cache's view may be."""
        return max(0.0, self.clock.monotonic() - self._contact)

    @property
    def failing(self) -> bool:
        """Whether the informer's requests are failing now (the server is unreachable, refuses, or errs)."""
        return self._outage.ongoing

    def watch_failing_for(self) -> float:
        """Seconds since the watch last made progress, while it keeps failing; 0 while it is healthy."""
        return self._outage.duration(self.clock.monotonic())

    async def run(self) -> None:
        """List and watch until cancelled."""
        self._contact = self._heard = self.clock.monotonic()
        need_list = True
        while True:
            self._connected = False
            try:
                if need_list or self._unreachable:
                    after_outage = self._unreachable and self.synced.is_set()
                    changes = await self._list()
                    if after_outage:
                        log.info("informer relisted: the server had been unreachable and may have come back with "
                                 "other data", informer=self.name, server=self.api.server, changes=changes)
                    need_list = False
                end = await self._watch_once()
                if end == "progress":
                    continue
                if end == "quiet":
                    need_list = self._silent_too_long()
                    continue
                self._failed("the watch ended at once without events", unreachable=False)
            except ApiError as exc:
                if exc.status == 410 or exc.rv_too_large:
                    self._relist_notice(exc)
                    need_list = True
                    if self._failures == 0:
                        self._failures = 1
                        continue
                else:
                    self._failed(describe(exc), unreachable=False)
            except TRANSIENT as exc:
                if self._connected:
                    log.info("informer watch stream dropped; resuming", informer=self.name, server=self.api.server,
                             error=describe(exc), resource_version=self.resource_version)
                else:
                    self._failed(describe(exc), unreachable=isinstance(exc, UNREACHABLE))
            self.stats.watch_restarts += 1
            await self._backoff()

    def _relist_notice(self, exc: ApiError) -> None:
        if exc.rv_too_large:
            log.warning("informer relisting: the server does not have our resourceVersion yet; its store is older "
                        "(restored from a backup or replaced)", informer=self.name, server=self.api.server,
                        resource_version=self.resource_version, error=describe(exc))
        else:
            log.info("informer relisting: resourceVersion expired", informer=self.name,
                     resource_version=self.resource_version)

    def _silent_too_long(self) -> bool:
        silent = self.clock.monotonic() - self._heard
        if silent < self.relist_after_silence:
            return False
        log.warning("informer relisting: no event or bookmark for a long time; the watch may not be served",
                    informer=self.name, server=self.api.server, silent_seconds=round(silent),
                    resource_version=self.resource_version)
        return True

    def _failed(self, error: str, *, unreachable: bool) -> None:
        """One failed attempt: remember why, log the first of an outage and then a summary now and then."""
        self.last_error = error
        self._unreachable = self._unreachable or unreachable
        now = self.clock.monotonic()
        report = self._outage.failed(now)
        if report == "first":
            log.warning("informer cannot list/watch", informer=self.name, server=self.api.server, error=error,
                        resource_version=self.resource_version, **NEW_EPISODE)
        elif report == "summary":
            log.warning("informer still failing", informer=self.name, server=self.api.server, error=error,
                        failing_seconds=round(self._outage.duration(now)), attempts=self._outage.failures,
                        stale_seconds=round(self.stale_for()))

    def _touch(self) -> None:
        """The server answered: the cache is as fresh as now."""
        self._contact = self.clock.monotonic()

    def _progress(self) -> None:
        """The list or watch works again: reset the backoff and end an outage, saying so once."""
        self._failures = 0
        self.last_error = ""
        ended = self._outage.recovered(self.clock.monotonic())
        if ended is not None:
            log.info("informer recovered", informer=self.name, server=self.api.server,
                     after_seconds=round(ended[0], 1), failed_attempts=ended[1])

    async def _backoff(self) -> None:
        # The failure count is reset once a watch delivers an event.
        delay = backoff_delay(self._failures, self.backoff_base, self.backoff_cap, self._rng)
        self._failures += 1
        await self.clock.sleep(delay)

    async def _list(self) -> int:
        """List everything, replace the cache, hand the differences to the handlers; returns how many."""
        fresh: dict[tuple[str, str], dict[str, Any]] = {}
        strings: dict[str, str] = {}
        rv = ""
        pages = self.api.list_pages(self.res, self.namespace, label_selector=self.label_selector,
                                    field_selector=self.field_selector, limit=self.page_size)
        async with contextlib.aclosing(pages):
            async for items, page_rv in pages:
                rv = page_rv  # the last page's version is the list's
                for obj in items:
                    # Per page, so the duplicates are freed before the next page is decoded into their memory.
                    share_strings(obj, strings)
                    fresh[key_of(obj)] = obj
        async with self._dispatch:
            if self.synced.is_set():
                self.stats.relists += 1
                changes = diff(self._cache, fresh) if self._handlers else []
            else:
                changes = [Change("ADDED", o, None) for o in fresh.values()] if self._handlers else []
            self._cache.replace_all({k: self._view(o) for k, o in fresh.items()})
            self.resource_version = rv
            self._unreachable = False
            self._touch()
            self._heard = self._contact
            self._progress()
            for change in changes:
                await self._emit(change)
        self.synced.set()
        return len(changes)

    async def _watch_once(self) -> WatchEnd:
        """Run one watch request to its end: "progress" if events arrived or it lasted, "quick" if it ended at once
        without any, "quiet" if nothing came for `contact_every` seconds and it was ended to ask again."""
        started = time.monotonic()
        got_event = False
        stream = self.api.watch_batches(self.res, self.namespace, resource_version=self.resource_version,
                                        label_selector=self.label_selector, field_selector=self.field_selector,
                                        timeout_seconds=self.watch_timeout)
        idle = asyncio.timeout(None)
        try:
            async with contextlib.aclosing(stream), idle:
                async for batch in stream:
                    self._touch()
                    if not self._connected:
                        self._connected = True
                    else:
                        got_event = True
                        self._heard = self._contact
                        self.stats.last_event = self.clock.now()
                        if self._failures or self._outage.ongoing:
                            self._progress()
                    async with self._dispatch:
                        for etype, obj in batch:
                            for change in self._apply(etype, obj):
                                await self._emit(change)
                    idle.reschedule(asyncio.get_running_loop().time() + self.contact_every)
        except TimeoutError:
            if not idle.expired():
                raise
            self._progress()  # accepted and open for `contact_every`: the watch works, it is only quiet
            return "quiet"
        self._touch()
        if got_event or time.monotonic() - started >= MIN_QUIET_STREAM:
            self._progress()
            return "progress"
        return "quick"

    def _apply(self, etype: str, obj: dict[str, Any]) -> Sequence[Change]:
        """Apply one watch event to the cache; return the changes to hand to the handlers."""
        counts = self.stats.events
        if etype not in counts:
            log.warning("informer %s: ignoring watch event of type %r", self.name, etype)
            return _NO_CHANGES
        counts[etype] += 1
        meta = obj.get("metadata") or {}
        rv = meta.get("resourceVersion")
        if etype == "BOOKMARK":
            if rv:
                self.resource_version = rv
            return _NO_CHANGES
        key = (meta.get("namespace") or "", meta["name"])
        old = self._cache.at(key)
        changes = self._apply_delete(key, obj, old) if etype == "DELETED" else self._apply_upsert(key, obj, old)
        if rv:
            self.resource_version = rv
        return changes

    def _apply_delete(self, key: tuple[str, str], obj: dict[str, Any], old: dict[str, Any] | None) -> Sequence[Change]:
        if old is None:
            return _NO_CHANGES  # already gone: a replayed DELETED
        self._cache.remove(key)
        return [Change("DELETED", obj, old)] if self._handlers else _NO_CHANGES

    def _apply_upsert(self, key: tuple[str, str], obj: dict[str, Any], old: dict[str, Any] | None) -> Sequence[Change]:
        if old is not None and _same_version(old, obj):
            return _NO_CHANGES  # a replayed event after a resume
        self._cache.put(key, self._view(obj))
        if not self._handlers:
            return _NO_CHANGES
        if old is None:
            return [Change("ADDED", obj, None)]
        if _uid(old) != _uid(obj):
            return [Change("DELETED", old, old), Change("ADDED", obj, None)]
        return [Change("MODIFIED", obj, old)]

    async def _emit(self, change: Change) -> None:
        for handler in self._handlers:
            await self._call(handler, change)

    async def _call(self, handler: Handler, change: Change) -> None:
        """Run one handler; one that raises is counted (`kubevigil_informer_handler_errors_total`) and logged — in
        full at the first failure, then one summary a minute while failures go on — and never stops the informer
        or the other handlers."""
        try:
            await handler(change)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._handler_failed(handler, change, exc)

    def _handler_failed(self, handler: Handler, change: Change, exc: Exception) -> None:
        self.stats.handler_errors += 1
        now = self.clock.monotonic()
        outage = self._handler_outage
        if outage.ongoing and now - self._handler_failed_at >= outage.summary_every:
            outage.recovered(now)  # quiet for a while: this failure starts a new episode, logged in full
        self._handler_failed_at = now
        report = outage.failed(now)
        where = {"informer": self.name, "handler": getattr(handler, "__qualname__", repr(handler)),
                 "change": change.type, "object": "/".join(filter(None, key_of(change.obj)))}
        if report == "first":
            log.error("informer handler failed; the role's view of this object may be wrong", **where,
                      exc_info=exc, **NEW_EPISODE)
        elif report == "summary":
            log.error("informer handlers still failing", **where, error=f"{type(exc).__name__}: {exc}",
                      failed_changes=self._handler_outage.failures)


def _whole(obj: dict[str, Any]) -> dict[str, Any]:
    return obj


def diff(cache: CacheView, fresh: dict[tuple[str, str], dict[str, Any]]) -> list[Change]:
    """The changes that turn the cache into `fresh`: new, changed resourceVersion or uid, missing."""
    changes: list[Change] = []
    for key, obj in fresh.items():
        old = cache.get(*key)
        if old is None:
            changes.append(Change("ADDED", obj, None))
        elif _uid(old) != _uid(obj):
            changes.append(Change("DELETED", old, old))
            changes.append(Change("ADDED", obj, None))
        elif not _same_version(old, obj):
            changes.append(Change("MODIFIED", obj, old))
    for key in list(cache.keys()):
        if key not in fresh:
            old = cache.get(*key)
            assert old is not None
            changes.append(Change("DELETED", old, old))
    return changes


def _uid(obj: dict[str, Any]) -> str:
    return obj["metadata"].get("uid") or ""


def _same_version(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ma, mb = a["metadata"], b["metadata"]
    return bool(ma.get("resourceVersion") == mb.get("resourceVersion") and ma.get("uid") == mb.get("uid"))


def contact_interval(stale_after: float) -> float:
    """How often an informer must hear from its server for a staleness bound to hold on a quiet watch: a third of
    the bound, between 1 and 30 seconds."""
    return min(30.0, max(1.0, stale_after / 3))


def freshness(informers: Iterable[Informer], stale_after: float) -> Readiness:
    """Ready when every informer has synced and heard from its server within `stale_after` seconds: the one
    readiness rule for every role's view of the cluster."""
    problems: list[str] = []
    for inf in informers:
        if not inf.synced.is_set():
            why = f": {inf.last_error}" if inf.last_error else ""
            problems.append(f"informer {inf.name} not synced{why}")
            continue
        stale = inf.stale_for()
        if stale > stale_after:
            detail = (f"informer {inf.name} has not heard from {inf.api.server} for {stale:.0f}s "
                      f"(stale after {stale_after:g}s)")
            if inf.failing:
                detail += f"; the watch has been failing for {inf.watch_failing_for():.0f}s: {inf.last_error}"
            problems.append(detail)
    if not problems:
        return Readiness(True)
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return Readiness(False, "; ".join(problems[:3]) + more)
