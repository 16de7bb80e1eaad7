"""The process's informers: one per resource, namespace, selectors and cache view, shared by every role that asks.

A role subscribes with a handler and gets the informer (for its cache, `synced` and staleness); the first
subscription starts the informer, the last one's `close()` stops it and drops its cache. Reference counting, not
one informer for the life of the process, because leader roles subscribe when the process starts leading and close
when it stops: a standby replica then keeps no watch open and no cache in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from kubevigil.core.clock import Clock
from kubevigil.kube.client import KubeApi
from kubevigil.kube.informer import Handler, Informer
from kubevigil.kube.resources import Resource

log = structlog.get_logger("kubevigil.kube.factory")

CacheViewFn = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class WatchKey:
    """What makes two watches the same watch. Subscribers that keep different views of the objects (a projection
    that saves memory) cannot share one cache, so the view is part of the key."""

    res: Resource
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None
    view: CacheViewFn | None = None

    def describe(self) -> str:
        where = self.namespace or "*"
        selectors = ",".join(s for s in (self.label_selector, self.field_selector) if s)
        return f"{self.res.plural}@{where}" + (f"{{{selectors}}}" if selectors else "")


@dataclass(eq=False)
class Subscription:
    """One role's use of a shared informer; `close()` ends it (idempotent)."""

    informer: Informer
    handler: Handler | None
    _factory: InformerFactory
    _key: WatchKey
    closed: bool = False

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._factory._release(self)


@dataclass(eq=False)
class _Shared:
    informer: Informer
    task: asyncio.Task[None]
    subscriptions: list[Subscription] = field(default_factory=list)


class InformerFactory:
    """Hands out shared informers; see the module docstring. Built by the runtime (one per process)."""

    def __init__(self, api: KubeApi, *, clock: Clock, registry: CollectorRegistry) -> None:
        self.api = api
        self.clock = clock
        self.registry = registry
        self._shared: dict[WatchKey, _Shared] = {}
        self._lock = asyncio.Lock()

    async def subscribe(self, res: Resource, handler: Handler | None = None, *, namespace: str | None = None,
                        label_selector: str | None = None, field_selector: str | None = None,
                        view: CacheViewFn | None = None, contact_every: float = 30.0,
                        name: str | None = None) -> Subscription:
        """The informer for this watch, started if it is the first subscription; `handler` gets every cached object
        as ADDED, then each change. `name` labels the informer's metrics (the first subscriber's name is kept);
        `contact_every` is a bound: the informer uses the smallest any subscriber asked for."""
        key = WatchKey(res, namespace or None, label_selector or None, field_selector or None, view)
        async with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                informer = Informer(self.api, res, namespace=key.namespace, label_selector=key.label_selector,
                                    field_selector=key.field_selector, name=name or key.describe(), clock=self.clock,
                                    registry=self.registry, cache_view=view, contact_every=contact_every)
                task = asyncio.create_task(informer.run(), name=f"informer:{informer.name}")
                task.add_done_callback(_ended)
                shared = self._shared[key] = _Shared(informer, task)
            informer = shared.informer
            informer.contact_every = min(informer.contact_every, contact_every)
            subscription = Subscription(informer, handler, self, key)
            shared.subscriptions.append(subscription)
        if handler is not None:
            await informer.subscribe(handler)
        return subscription

    def informers(self) -> list[tuple[WatchKey, Informer, int]]:
        """Each running informer with its key and number of subscriptions (for /api/process and tests)."""
        return [(key, s.informer, len(s.subscriptions)) for key, s in self._shared.items()]

    async def aclose(self) -> None:
        """Stop every informer (the runtime's shutdown, after the roles stopped)."""
        async with self._lock:
            shared, self._shared = list(self._shared.values()), {}
        for entry in shared:
            for subscription in entry.subscriptions:
                subscription.closed = True
            await _stop(entry.task)

    async def _release(self, subscription: Subscription) -> None:
        async with self._lock:
            shared = self._shared.get(subscription._key)
            if shared is None or subscription not in shared.subscriptions:
                return
            shared.subscriptions.remove(subscription)
            if subscription.handler is not None:
                shared.informer.unsubscribe(subscription.handler)
            if shared.subscriptions:
                return
            del self._shared[subscription._key]
        log.debug("informer stopped: no subscriber left", informer=shared.informer.name)
        await _stop(shared.task)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait({task})  # not `await task`: a cancellation of the caller must not be swallowed


def _ended(task: asyncio.Task[None]) -> None:
    """An informer runs until cancelled; one that ended otherwise is a bug, and its subscribers' view goes stale
    (readiness says so): say why once."""
    if not task.cancelled() and task.exception() is not None:
        log.error("informer stopped by an error; its cache is no longer kept current", task=task.get_name(),
                  exc_info=task.exception())
