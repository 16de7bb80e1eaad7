"""A keyed, rate-limited work queue (client-go's workqueue): controllers reconcile through it.

- `add(key)`: the key is handled soon; adding a queued key again does nothing (the handler reads the latest state).
- One worker per key at a time: a key added while its handler runs is handled once more after it returns.
- `add_after(key, delay)`: handled after `delay` seconds of the clock; the earliest pending time wins.
- A handler that raises is retried after a per-key exponential backoff with full jitter, capped; success forgets
  the key's failures. Nothing is dropped: the cap bounds the delay, not the number of retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import ClassVar, Generic, TypeVar

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from kubevigil.core.backoff import backoff_delay
from kubevigil.core.clock import Clock, SystemClock

log = structlog.get_logger("kubevigil.kube")

K = TypeVar("K", bound=Hashable)

DURATION_BUCKETS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 300.0, float("inf"))


class WorkQueue(Generic[K]):
    """Calls `handler(key)` for each added key on up to `workers` concurrent workers; see the module docstring."""

    def __init__(self, handler: Callable[[K], Awaitable[None]], *, name: str, workers: int = 4,
                 clock: Clock | None = None, registry: CollectorRegistry | None = None,
                 backoff_base: float = 0.005, backoff_cap: float = 300.0, rng: random.Random | None = None) -> None:
        if workers < 1:
            raise ValueError(f"work queue {name}: workers must be at least 1, got {workers}")
        self.name = name
        self._handler = handler
        self._workers = workers
        self._clock = clock or SystemClock()
        self._base, self._cap = backoff_base, backoff_cap
        self._rng = rng or random.Random()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()  # queued, or re-added while processing
        self._processing: dict[K, float] = {}  # key -> perf_counter when its handler started
        self._failures: dict[K, int] = {}
        self._waiting: dict[K, float] = {}  # key -> monotonic time it is due (earliest wins)
        self._heap: list[tuple[float, int, K]] = []
        self._seq = itertools.count()
        self._ready = asyncio.Event()
        self._timer_changed = asyncio.Event()
        self.adds = 0
        self.retries = 0
        self._durations = [0] * len(DURATION_BUCKETS)
        self._duration_sum = 0.0
        if registry is not None:
            WorkQueueCollector.on(registry).add(self)

    # ---- intake

    def add(self, key: K) -> None:
        """Handle `key` soon (once, however often it is added before a worker takes it)."""
        self.adds += 1
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._ready.set()

    def add_after(self, key: K, delay: float) -> None:
        """Handle `key` after `delay` seconds; an earlier pending time for the key is kept."""
        if delay <= 0:
            self.add(key)
            return
        due = self._clock.monotonic() + delay
        current = self._waiting.get(key)
        if current is not None and current <= due:
            return
        self._waiting[key] = due
        heapq.heappush(self._heap, (due, next(self._seq), key))
        if self._heap[0][2] == key:
            self._timer_changed.set()

    def add_rate_limited(self, key: K) -> None:
        """Handle `key` after its backoff: exponential in its failures since the last `forget`, with jitter."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        self.retries += 1
        self.add_after(key, max(backoff_delay(failures, self._base, self._cap, self._rng), 1e-6))

    def forget(self, key: K) -> None:
        """Stop tracking the key's failures: its next failure starts the backoff again."""
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)

    def discard(self, key: K) -> None:
        """Drop a pending delayed add and the failure count (the object is gone); a queued add still runs."""
        self._waiting.pop(key, None)
        self.forget(key)

    def clear(self) -> None:
        """Forget every key: queued, delayed and failure counts (a controller that stops leading starts over from
        its informers when it leads again). Only while `run` is not running."""
        self._queue.clear()
        self._dirty.clear()
        self._waiting.clear()
        self._heap.clear()
        self._failures.clear()

    # ---- state

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def depth(self) -> int:
        return len(self._queue)

    def pending_delayed(self) -> int:
        return len(self._waiting)

    def is_processing(self, key: K) -> bool:
        return key in self._processing

    def longest_running(self) -> float:
        """Seconds the oldest running handler has been running (0 when idle)."""
        if not self._processing:
            return 0.0
        return time.perf_counter() - min(self._processing.values())

    # ---- running

    async def run(self) -> None:
        """Run the workers and the delay timer until cancelled."""
        tasks = [asyncio.create_task(self._worker(), name=f"workqueue:{self.name}:{i}") for i in range(self._workers)]
        tasks.append(asyncio.create_task(self._timer(), name=f"workqueue:{self.name}:timer"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            while not self._queue:
                self._ready.clear()
                await self._ready.wait()
            key = self._queue.popleft()
            self._dirty.discard(key)
            await self._process(key)

    async def _process(self, key: K) -> None:
        started = time.perf_counter()
        self._processing[key] = started
        try:
            await self._handler(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("work queue handler failed; retrying with backoff", queue=self.name, key=key)
            self.add_rate_limited(key)
        else:
            self.forget(key)
        finally:
            self._processing.pop(key, None)
            self._observe(time.perf_counter() - started)
            if key in self._dirty:  # re-added while it ran: now it may run again
                self._queue.append(key)
                self._ready.set()

    def _observe(self, seconds: float) -> None:
        self._duration_sum += seconds
        for i, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self._durations[i] += 1
                break

    async def _timer(self) -> None:
        while True:
            self._release_due()
            self._timer_changed.clear()
            if not self._heap:
                await self._timer_changed.wait()
                continue
            delay = self._heap[0][0] - self._clock.monotonic()
            sleeper = asyncio.ensure_future(self._clock.sleep(delay))
            changed = asyncio.ensure_future(self._timer_changed.wait())
            try:
                await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for fut in (sleeper, changed):
                    fut.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(sleeper, changed, return_exceptions=True)

    def _release_due(self) -> None:
        now = self._clock.monotonic()
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            if self._waiting.get(key) == due:  # else superseded by an earlier time or discarded
                del self._waiting[key]
                self.add(key)


class WorkQueueCollector(Collector):
    """Exposes every live work queue of one registry (labelled by queue name), like client-go's workqueue metrics."""

    _per_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, WorkQueueCollector]] = (
        weakref.WeakKeyDictionary())

    def __init__(self) -> None:
        self._queues: weakref.WeakSet[WorkQueue[object]] = weakref.WeakSet()

    @classmethod
    def on(cls, registry: CollectorRegistry) -> WorkQueueCollector:
        collector = cls._per_registry.get(registry)
        if collector is None:
            collector = cls._per_registry[registry] = cls()
            registry.register(collector)
        return collector

    def add(self, queue: WorkQueue[K]) -> None:
        self._queues.add(queue)  # type: ignore[arg-type]

    def describe(self) -> list[Metric]:
        return list(_families())

    def collect(self) -> Iterator[Metric]:
        depth, adds, retries, longest, duration = _families()
        for q in sorted(self._queues, key=lambda q: q.name):
            depth.add_metric([q.name], q.depth)
            adds.add_metric([q.name], q.adds)
            retries.add_metric([q.name], q.retries)
            longest.add_metric([q.name], q.longest_running())
            cumulative, buckets = 0, []
            for bound, count in zip(DURATION_BUCKETS, q._durations, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            duration.add_metric([q.name], buckets, q._duration_sum)
        yield from (depth, adds, retries, longest, duration)


def _families() -> tuple[GaugeMetricFamily, CounterMetricFamily, CounterMetricFamily, GaugeMetricFamily,
                         HistogramMetricFamily]:
    return (
        GaugeMetricFamily("kubevigil_workqueue_depth", "Keys waiting for a worker", labels=["name"]),
        CounterMetricFamily("kubevigil_workqueue_adds", "Keys added (including re-adds of queued keys)",
                            labels=["name"]),
        CounterMetricFamily("kubevigil_workqueue_retries", "Keys re-added with backoff after a handler failed",
                            labels=["name"]),
        GaugeMetricFamily("kubevigil_workqueue_longest_running_processor_seconds",
                          "How long the oldest running handler has been running", labels=["name"]),
        HistogramMetricFamily("kubevigil_workqueue_work_duration_seconds", "Time a handler took", labels=["name"]),
    )
