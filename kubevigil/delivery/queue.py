"""One sink's queue, the `Outlet` a role puts into: the journal writer, the memory window and the sender, together."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import structlog

from kubevigil.core.clock import Clock
from kubevigil.core.signals import Metric, Record, Signal
from kubevigil.core.startup import StartupError
from kubevigil.delivery.backlog import Backlog
from kubevigil.delivery.codec import encode
from kubevigil.delivery.deadletter import DeadLetters
from kubevigil.delivery.journal import Journal, Stored
from kubevigil.delivery.metrics import SinkMetrics
from kubevigil.delivery.sender import Sender
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.delivery.window import Window, wait_real
from kubevigil.delivery.writer import JournalWriter
from kubevigil.sinks.sink import BatchLimits, SignalKind, Sink

log = structlog.get_logger("kubevigil.delivery")


class DeliveryClosed(RuntimeError):
    """`put` was called on a queue that is not running (before start or after shutdown began)."""


def effective_limits(sink: BatchLimits, params: DeliveryParams) -> BatchLimits:
    """The sink's limits, item count lowered and age replaced by the user's delivery settings."""
    items = min(sink.max_items, params.batch_max_items) if params.batch_max_items else sink.max_items
    age = params.batch_max_age if params.batch_max_age is not None else sink.max_age
    return BatchLimits(max_items=items, max_bytes=sink.max_bytes, max_age=age)


class SinkQueue:
    """Implements `Outlet` for one sink: checks and encodes what is put, applies backpressure, starts and stops the
    writer and the sender, and reports depth, age and failure."""

    def __init__(
        self,
        name: str,
        sink: Sink[Any],
        params: DeliveryParams,
        journal: Journal,
        dead: DeadLetters,
        metrics: SinkMetrics,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.kinds: frozenset[SignalKind] = sink.kinds
        self.sink = sink
        self.params = params
        self.limits = effective_limits(sink.limits, params)
        self._journal = journal
        self._clock = clock
        self._backlog = Backlog(params.max_queue_items, params.max_queue_bytes)
        self._window = Window(journal, params.memory_items, self.limits, self._discard)
        self._writer = JournalWriter(name, journal, self._window, self._backlog)
        self._sender = Sender(name, sink, params, journal, self._window, self._backlog, dead, metrics, clock, rng)
        self._running = False

    # ---- state seen by Delivery, metrics and /readyz

    @property
    def depth(self) -> int:
        """Items accepted and not yet delivered or dead-lettered."""
        return self._backlog.items

    @property
    def over_limit(self) -> bool:
        return self._backlog.full

    def depth_value(self) -> float:
        return float(self._backlog.items)

    def oldest_age(self) -> float:
        """Seconds since the oldest undelivered item was accepted; 0 when none is in memory."""
        times = [e.time for e in self._sender.inflight]
        head = self._window.oldest_time()
        if head is not None:
            times.append(head)
        return max(0.0, self._clock.now() - min(times)) if times else 0.0

    @property
    def access_denied(self) -> str:
        """Why the sink refuses kubevigil (credentials or destination), "" while it does not."""
        return self._sender.access_denied

    def access_denied_value(self) -> float:
        return 1.0 if self._sender.access_denied else 0.0

    @property
    def failure(self) -> str | None:
        """Why the sender stopped on its own (a bug), or None while it runs or after a normal shutdown."""
        return self._sender.crash

    # ---- lifecycle

    async def start(self) -> None:
        """Open the journal (its items are replayed first), start the sink, then the writer and sender."""
        try:
            await self._journal.open()
        except OSError as exc:  # SqliteJournal raises sqlite3.Error (but DatabaseError) as OSError
            raise StartupError(f"sink {self.name!r}: cannot open its journal: {exc}") from exc
        self._backlog.add(self._journal.count, self._journal.size)
        if self._backlog.items:
            log.info("replaying journal", sink=self.name, items=self._backlog.items)
        try:
            await self.sink.start()
        except Exception as exc:
            await self._journal.close()
            raise StartupError(f"sink {self.name!r} failed to start: {exc}") from exc
        self._running = True
        self._writer.start()
        self._sender.start()

    async def shutdown(self, grace: float) -> None:
        """Stop intake, keep sending for up to `grace` seconds, then stop; the rest stays journaled."""
        if not self._running:
            return
        self._running = False
        self._backlog.close()
        self._window.flush()
        if self._backlog.items and self._sender.crash is None:
            await wait_real(self._backlog.drained, grace)
        await self._sender.stop()
        await self._writer.stop()
        try:
            await self.sink.close()
        finally:
            await self._journal.close()
        if self._backlog.items:
            log.warning("unsent items left at shutdown", sink=self.name, items=self._backlog.items,
                        persisted=self.params.journal)

    # ---- intake (the Outlet side)

    async def put(self, items: Sequence[Signal]) -> None:
        """Accept items; returns once they are committed to the journal, waits while the queue is full."""
        if not items:
            return
        self._check_running()
        self._check_kinds(items)
        encoded = [self._encode(item) for item in items]
        size = sum(len(data) for data in encoded)
        await self._backlog.wait_for_room(len(items), size)
        self._check_running()
        self._backlog.add(len(items), size)
        now = self._clock.now()
        await self._writer.write([(now, data) for data in encoded], list(items))

    def _encode(self, item: Signal) -> bytes:
        try:
            return encode(item)
        except TypeError as exc:
            what = f"record {item.id!r}" if isinstance(item, Record) else f"metric {item.name!r}"
            raise TypeError(f"sink {self.name!r}: {what} cannot be encoded as JSON: {exc}") from exc

    def _check_running(self) -> None:
        if not self._running:
            raise DeliveryClosed(f"delivery to sink {self.name!r} is not running (not started or shutting down)")

    def _check_kinds(self, items: Sequence[Signal]) -> None:
        for item in items:
            kind: SignalKind = "metric" if isinstance(item, Metric) else "record"
            if kind not in self.kinds:
                raise TypeError(
                    f"sink {self.name!r} accepts {sorted(self.kinds)}, got a {kind}: {type(item).__name__}"
                )

    async def _discard(self, rows: list[Stored]) -> None:
        await self._sender.discard(rows)
