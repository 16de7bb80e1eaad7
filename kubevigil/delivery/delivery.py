"""The runtime's entry point to delivery: one durable queue per configured sink."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from kubevigil.core.clock import Clock
from kubevigil.core.names import check_sink_name
from kubevigil.core.readiness import Readiness
from kubevigil.delivery.deadletter import DeadLetters
from kubevigil.delivery.journal import Journal, MemoryJournal, SqliteJournal
from kubevigil.delivery.metrics import DeliveryMetrics
from kubevigil.delivery.outlet import Outlet
from kubevigil.delivery.queue import SinkQueue
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.sink import Sink


def journal_path(state_dir: Path, sink: str) -> Path:
    return state_dir / "journal" / f"{sink}.db"


def deadletter_path(state_dir: Path, sink: str) -> Path:
    return state_dir / "deadletter" / f"{sink}.jsonl"


class Delivery:
    """Owns every sink's queue: start replays journals and starts senders; shutdown flushes within a grace."""

    def __init__(
        self,
        sinks: Mapping[str, tuple[Sink[Any], DeliveryParams]],
        *,
        state_dir: Path,
        clock: Clock,
        registry: CollectorRegistry,
    ) -> None:
        metrics = DeliveryMetrics(registry)
        self._queues: dict[str, SinkQueue] = {}
        for name, (sink, params) in sinks.items():
            check_sink_name(name)
            journal: Journal = SqliteJournal(journal_path(state_dir, name)) if params.journal else MemoryJournal()
            dead = DeadLetters(name, deadletter_path(state_dir, name), clock)
            queue = SinkQueue(name, sink, params, journal, dead, metrics.for_sink(name), clock)
            metrics.watch(name, queue.depth_value, queue.oldest_age, queue.access_denied_value)
            self._queues[name] = queue
        self.outlets: Mapping[str, Outlet] = dict(self._queues)
        self._started = False

    async def start(self) -> None:
        """Open journals, replay what they hold, and start each sink and its sender."""
        started: list[SinkQueue] = []
        try:
            for queue in self._queues.values():
                await queue.start()
                started.append(queue)
        except BaseException:
            await asyncio.gather(*(q.shutdown(0.0) for q in started), return_exceptions=True)
            raise
        self._started = True

    async def shutdown(self, grace: float) -> None:
        """Stop intake, flush every sink for up to `grace` seconds, then close; unsent items stay journaled."""
        self._started = False
        results = await asyncio.gather(*(q.shutdown(grace) for q in self._queues.values()), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    def readiness(self) -> Readiness:
        """Not ready before start, when a sender died, while a sink's queue is at its limit (intake waits), or while a
        sink refuses access (items wait for an operator)."""
        if not self._started:
            return Readiness(False, "delivery is not running")
        broken = [f"{q.name} ({q.failure})" for q in self._queues.values() if q.failure]
        if broken:
            return Readiness(False, "delivery sender stopped for sink " + ", ".join(broken))
        full = [f"{q.name} ({q.depth} items)" for q in self._queues.values() if q.over_limit]
        if full:
            return Readiness(False, "delivery queue at its limit for sink " + ", ".join(full))
        denied = [f"{q.name} ({q.access_denied})" for q in self._queues.values() if q.access_denied]
        if denied:
            return Readiness(False, "sink refuses kubevigil's credentials or destination, items kept: " + ", ".join(denied))
        return Readiness(True)
