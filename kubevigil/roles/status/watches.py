"""Informers shared by targets (one per kind, namespace and selector) and the routing of their changes to targets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.kube.cache import key_of
from kubevigil.kube.factory import InformerFactory, Subscription
from kubevigil.kube.informer import Change, Informer, contact_interval
from kubevigil.kube.resources import by_kind
from kubevigil.roles.status.health import Health, evaluate
from kubevigil.roles.status.targets import ObjectKey, TargetTracker


@dataclass(frozen=True, slots=True)
class WatchKey:
    kind: str
    namespace: str | None
    selector: str | None

    @property
    def label(self) -> str:
        return f"status:{self.kind}:{self.namespace or '*'}:{self.selector or '*'}"


def object_watch(tracker: TargetTracker) -> WatchKey:
    """Named targets in one namespace share that namespace's informer; selectors get their own."""
    spec = tracker.spec
    namespace = None if spec.namespace_selector else spec.namespace
    return WatchKey(spec.kind, namespace, spec.selector)


def namespace_watch(tracker: TargetTracker) -> WatchKey | None:
    selector = tracker.spec.namespace_selector
    return WatchKey("Namespace", None, selector) if selector else None


def _watch_keys(tracker: TargetTracker) -> tuple[WatchKey, ...]:
    """The watches a target reads: its objects' and, with a namespace selector, the namespaces'."""
    nk = namespace_watch(tracker)
    return (object_watch(tracker), nk) if nk is not None else (object_watch(tracker),)


NOT_SYNCED = Health("unhealthy", "no view of the cluster yet: list/watch of this kind has not succeeded")


class Watches:
    """Subscribes to the informers the targets need; keeps every tracker's objects equal to what they cache."""

    def __init__(self, trackers: list[TargetTracker], clock: Clock, on_change: Callable[[TargetTracker, bool], None],
                 stale_after: float = 120.0) -> None:
        self.trackers = trackers
        self.clock = clock
        self.stale_after = stale_after
        self._on_change = on_change
        self.keys: list[WatchKey] = []
        self.informers: dict[WatchKey, Informer] = {}  # while started
        self._subscriptions: list[Subscription] = []
        self._named: dict[WatchKey, dict[ObjectKey, list[TargetTracker]]] = defaultdict(lambda: defaultdict(list))
        self._broad: dict[WatchKey, list[TargetTracker]] = defaultdict(list)
        self._by_namespace_watch: dict[WatchKey, list[TargetTracker]] = defaultdict(list)
        # targets by the watches they read: staleness is a property of the watches, checked once per group
        self._by_watches: dict[tuple[WatchKey, ...], list[TargetTracker]] = defaultdict(list)
        for tr in trackers:
            self._by_watches[_watch_keys(tr)].append(tr)
            wk = object_watch(tr)
            if tr.spec.name is not None:
                self._named[wk][(tr.spec.namespace or "", tr.spec.name)].append(tr)
            else:
                self._broad[wk].append(tr)
            nk = namespace_watch(tr)
            if nk is not None:
                self._by_namespace_watch[nk].append(tr)
            for key in (wk, nk):
                if key is not None and key not in self.keys:
                    self.keys.append(key)
        # Namespaces first: an object's handler reads the namespace selector's cache.
        self.keys.sort(key=lambda k: k.kind != "Namespace")

    async def start(self, factory: InformerFactory) -> None:
        """Subscribe to every watch the targets need (shared with other roles watching the same objects)."""
        for key in self.keys:
            handler = self._namespace_handler(key) if key.kind == "Namespace" else self._object_handler(key)
            subscription = await factory.subscribe(
                by_kind(key.kind), handler, namespace=key.namespace, label_selector=key.selector, name=key.label,
                contact_every=contact_interval(self.stale_after))
            self._subscriptions.append(subscription)
            self.informers[key] = subscription.informer

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.close()
        self.informers = {}

    @property
    def synced(self) -> bool:
        return len(self.informers) == len(self.keys) and all(inf.synced.is_set() for inf in self.informers.values())

    def informers_of(self, tracker: TargetTracker) -> list[Informer]:
        return [self.informers[k] for k in _watch_keys(tracker)]

    def stale(self, bound: float) -> dict[str, float]:
        """Targets whose synced view has not been confirmed by the API server for more than `bound` seconds, with
        how long; targets not synced at all are NOT_SYNCED instead."""
        out: dict[str, float] = {}
        for keys, trackers in self._by_watches.items():
            infs = [self.informers[k] for k in keys]
            if all(i.synced.is_set() for i in infs) and (age := max(i.stale_for() for i in infs)) > bound:
                out.update((tr.key, age) for tr in trackers)
        return out

    def _namespaces(self, tracker: TargetTracker) -> set[str] | None:
        """Names of the namespaces a namespace selector matches; None when the target has none."""
        nk = namespace_watch(tracker)
        if nk is None:
            return None
        return {name for _, name in self.informers[nk].cache.keys()}

    def _evaluate(self, tracker: TargetTracker, obj: dict[str, Any], now: float) -> Health:
        spec = tracker.spec
        return evaluate(spec.kind, obj, spec.mode, now, spec.max_age)

    def _object_handler(self, wk: WatchKey) -> Callable[[Change], Any]:
        async def handle(change: Change) -> None:
            key = key_of(change.obj)
            now = self.clock.now()
            for tr in self._named[wk].get(key, ()):
                self._apply(tr, key, change, now)
            for tr in self._broad[wk]:
                namespaces = self._namespaces(tr)
                if namespaces is None or key[0] in namespaces:
                    self._apply(tr, key, change, now)
        return handle

    def _apply(self, tracker: TargetTracker, key: ObjectKey, change: Change, now: float) -> None:
        if change.type == "DELETED":
            tracker.remove(key)
        else:
            tracker.set(key, self._evaluate(tracker, change.obj, now))
        self._on_change(tracker, tracker.refold(now))

    def _namespace_handler(self, nk: WatchKey) -> Callable[[Change], Any]:
        async def handle(change: Change) -> None:
            now = self.clock.now()
            for tr in self._by_namespace_watch[nk]:
                self.refill(tr, now)
                self._on_change(tr, tr.refold(now))
        return handle

    def refill(self, tracker: TargetTracker, now: float) -> None:
        """Rebuild one tracker's objects from the caches (after sync, on each interval, on namespace changes)."""
        tracker.clear()
        spec = tracker.spec
        inf = self.informers[object_watch(tracker)]
        if spec.name is not None:
            obj = inf.cache.get(spec.namespace, spec.name)
            if obj is not None:
                tracker.set((spec.namespace or "", spec.name), self._evaluate(tracker, obj, now))
            return
        namespaces = self._namespaces(tracker)
        for obj in inf.cache.list():
            key = key_of(obj)
            if namespaces is None or key[0] in namespaces:
                tracker.set(key, self._evaluate(tracker, obj, now))

    def refresh_all(self, now: float) -> None:
        """Re-evaluate every target from the caches; targets whose informers have not synced are unhealthy."""
        for tr in self.trackers:
            if not all(inf.synced.is_set() for inf in self.informers_of(tr)):
                tr.clear()
                changed = tr.health.state != NOT_SYNCED.state
                if changed:
                    tr.since = now
                tr.health = NOT_SYNCED
                self._on_change(tr, changed)
                continue
            self.refill(tr, now)
            self._on_change(tr, tr.refold(now))
