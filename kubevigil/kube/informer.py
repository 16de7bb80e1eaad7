"""An informer: list, then watch from the list's resourceVersion, keeping a cache of plain dicts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import httpx2 as httpx
import orjson
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kubevigil.core.clock import Clock, SystemClock
from kubevigil.kube.cache import Cache, CacheView, key_of, share_strings
from kubevigil.kube.client import KubeApi
from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import Resource

log = logging.getLogger(__name__)

ChangeType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True, slots=True)
class Change:
    """One change to the cache; `old` is the object it replaced (None for ADDED)."""

    type: ChangeType
    obj: dict
    old: dict | None


Handler = Callable[[Change], Awaitable[None]]

# Errors after which the watch resumes from the last seen resourceVersion.
TRANSIENT = (httpx.HTTPError, OSError, asyncio.TimeoutError, orjson.JSONDecodeError)
# A stream that ends cleanly sooner than this without any event counts as a failure (no hot loop).
MIN_QUIET_STREAM = 1.0


EVENT_TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK")
_NO_CHANGES: tuple[Change, ...] = ()


@dataclass(slots=True)
class InformerStats:
    """An informer's own counts, kept as plain numbers: prometheus calls per event cost more than the cache update."""

    relists: int = 0
    watch_restarts: int = 0
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
        relists, restarts, events, last, objects = self._families()
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
        yield from (relists, restarts, events, last, objects)

    @staticmethod
    def _families() -> tuple[CounterMetricFamily, CounterMetricFamily, CounterMetricFamily, GaugeMetricFamily,
                             GaugeMetricFamily]:
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
        )


class Informer:
    """Keeps `cache` equal to the server's view of one resource and calls handlers with each change."""

    def __init__(self, api: KubeApi, res: Resource, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None, name: str | None = None,
                 clock: Clock | None = None, registry: CollectorRegistry = REGISTRY,
                 watch_timeout: int = 300, page_size: int | None = 500,
                 backoff_base: float = 0.2, backoff_cap: float = 30.0, rng: random.Random | None = None,
                 cache_view: Callable[[dict], dict] | None = None) -> None:
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
        self._rng = rng or random.Random()
        # What the cache keeps of each object (client-go's transform): handlers still get the whole object, but
        # `old` and a relist's DELETED carry only the view, which must keep metadata.uid and resourceVersion.
        self._view = cache_view or _whole
        self.synced = asyncio.Event()
        self.resource_version = ""
        self._cache = Cache()
        self._handlers: list[Handler] = []
        self._failures = 0
        self._failing_since: float | None = None  # monotonic time of the first failure since the last progress
        self.stats = InformerStats()
        InformerCollector.on(registry).add(self)

    @property
    def cache(self) -> CacheView:
        return self._cache

    def add_handler(self, fn: Handler) -> None:
        """Call fn for every change, in order; the initial list arrives as ADDED changes."""
        self._handlers.append(fn)

    def watch_failing_for(self) -> float:
        """Seconds since the watch last made progress, while it keeps failing; 0 while it is healthy."""
        if self._failing_since is None:
            return 0.0
        return self.clock.monotonic() - self._failing_since

    async def run(self) -> None:
        """List and watch until cancelled."""
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                if await self._watch_once():
                    self._failing_since = None
                    continue
                log.debug("informer %s: watch ended at once without events", self.name)
            except ApiError as exc:
                if exc.status == 410:
                    log.info("informer %s: resourceVersion %s expired, relisting", self.name, self.resource_version)
                    need_list = True
                    if self._failures == 0:
                        self._failures = 1
                        continue
                else:
                    log.warning("informer %s: watch failed: %s", self.name, exc)
            except TRANSIENT as exc:
                log.info("informer %s: watch dropped (%s: %s), resuming from %s", self.name,
                         type(exc).__name__, exc, self.resource_version)
            self.stats.watch_restarts += 1
            if self._failing_since is None:
                self._failing_since = self.clock.monotonic()
            await self._backoff()

    async def _backoff(self) -> None:
        # Full jitter: uniform in [0, min(cap, base * 2^n)]; reset once a watch delivers an event.
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** min(self._failures, 30)))
        self._failures += 1
        await self.clock.sleep(self._rng.uniform(0, ceiling))

    async def _list(self) -> None:
        fresh: dict[tuple[str, str], dict] = {}
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
        if self.synced.is_set():
            self.stats.relists += 1
            changes = diff(self._cache, fresh) if self._handlers else []
        else:
            changes = [Change("ADDED", o, None) for o in fresh.values()] if self._handlers else []
        self._cache.replace_all({k: self._view(o) for k, o in fresh.items()})
        self.resource_version = rv
        for change in changes:
            await self._emit(change)
        self.synced.set()

    async def _watch_once(self) -> bool:
        """Run one watch request to its end; True if it made progress (an event arrived or it lasted)."""
        started = time.monotonic()
        got_event = False
        stream = self.api.watch_batches(self.res, self.namespace, resource_version=self.resource_version,
                                        label_selector=self.label_selector, field_selector=self.field_selector,
                                        timeout_seconds=self.watch_timeout)
        async with contextlib.aclosing(stream):
            async for batch in stream:
                if not got_event:
                    got_event = True
                    self._failures = 0
                    self._failing_since = None
                self.stats.last_event = self.clock.now()
                for etype, obj in batch:
                    for change in self._apply(etype, obj):
                        await self._emit(change)
        return got_event or time.monotonic() - started >= MIN_QUIET_STREAM

    def _apply(self, etype: str, obj: dict) -> Sequence[Change]:
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

    def _apply_delete(self, key: tuple[str, str], obj: dict, old: dict | None) -> Sequence[Change]:
        if old is None:
            return _NO_CHANGES  # already gone: a replayed DELETED
        self._cache.remove(key)
        return [Change("DELETED", obj, old)] if self._handlers else _NO_CHANGES

    def _apply_upsert(self, key: tuple[str, str], obj: dict, old: dict | None) -> Sequence[Change]:
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
            try:
                await handler(change)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("informer %s: handler %s failed on %s %s", self.name,
                              getattr(handler, "__qualname__", handler), change.type, key_of(change.obj))


def _whole(obj: dict) -> dict:
    return obj


def diff(cache: CacheView, fresh: dict[tuple[str, str], dict]) -> list[Change]:
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


def _uid(obj: dict) -> str:
    return obj["metadata"].get("uid") or ""


def _same_version(a: dict, b: dict) -> bool:
    ma, mb = a["metadata"], b["metadata"]
    return ma.get("resourceVersion") == mb.get("resourceVersion") and ma.get("uid") == mb.get("uid")
