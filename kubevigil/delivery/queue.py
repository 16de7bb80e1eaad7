"""One sink's queue: group-committed intake to the journal, a bounded in-memory window, and the sender."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from kubevigil.core.clock import Clock
from kubevigil.core.signals import Metric, Record, Signal
from kubevigil.core.startup import StartupError
from kubevigil.delivery.codec import decode, encode
from kubevigil.delivery.deadletter import DeadLetters
from kubevigil.delivery.journal import Journal, Stored
from kubevigil.delivery.metrics import SinkMetrics
from kubevigil.delivery.retry import backoff_delay
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.sink import BatchLimits, ItemFailure, PermanentError, SignalKind, Sink

log = structlog.get_logger("kubevigil.delivery")

class DeliveryClosed(RuntimeError):
    """`put` was called on a queue that is not running (before start or after shutdown began)."""


@dataclass(slots=True)
class Entry:
    """An accepted item on its way to the sink."""

    seq: int
    time: float  # accept time, epoch seconds; survives restarts through the journal
    size: int  # bytes of its journal encoding
    item: Signal
    ready_at: float  # loop time when it joined the window: the start of its batch age
    attempts: int = 0


def effective_limits(sink: BatchLimits, params: DeliveryParams) -> BatchLimits:
    """The sink's limits, item count lowered and age replaced by the user's delivery settings."""
    items = min(sink.max_items, params.batch_max_items) if params.batch_max_items else sink.max_items
    age = params.batch_max_age if params.batch_max_age is not None else sink.max_age
    return BatchLimits(max_items=items, max_bytes=sink.max_bytes, max_age=age)


class SinkQueue:
    """Implements `Outlet` for one sink and runs its writer and sender tasks."""

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
        self._dead = dead
        self._m = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._queued_items = 0
        self._queued_bytes = 0
        self._pending: list[tuple[float, bytes]] = []
        self._pending_items: list[Signal] = []
        self._group: asyncio.Future[None] | None = None
        self._window: deque[Entry] = deque()
        self._window_bytes = 0
        self._inflight: list[Entry] = []
        self._spilled = True  # the journal may hold items not in the window (all of them, at start)
        self._loaded_to = 0  # highest seq ever placed in the window
        self._window_lock = asyncio.Lock()
        self._wake_writer = asyncio.Event()
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._drained = asyncio.Event()
        self._running = False
        self._flushing = False
        self._failing = False
        self._last_error = ""
        self._crash: str | None = None
        self._writer: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None

    # ---- state seen by Delivery, metrics and /readyz

    @property
    def depth(self) -> int:
        """Items accepted and not yet delivered or dead-lettered."""
        return self._queued_items

    @property
    def over_limit(self) -> bool:
        return self._queued_items >= self.params.max_queue_items or self._queued_bytes >= self.params.max_queue_bytes

    def depth_value(self) -> float:
        return float(self._queued_items)

    def oldest_age(self) -> float:
        """Seconds since the oldest undelivered item was accepted; 0 when none is in memory."""
        times = [e.time for e in self._inflight]
        if self._window:
            times.append(self._window[0].time)
        return max(0.0, self._clock.now() - min(times)) if times else 0.0

    # ---- lifecycle

    async def start(self) -> None:
        """Open the journal (its items are replayed first), start the sink, then the writer and sender."""
        try:
            await self._journal.open()
        except (OSError, sqlite3.Error) as exc:
            raise StartupError(f"sink {self.name!r}: cannot open its journal: {exc}") from exc
        self._queued_items = self._journal.count
        self._queued_bytes = self._journal.size
        if self._queued_items:
            log.info("replaying journal", sink=self.name, items=self._queued_items)
        try:
            await self.sink.start()
        except Exception as exc:
            await self._journal.close()
            raise StartupError(f"sink {self.name!r} failed to start: {exc}") from exc
        self._running = True
        self._group = asyncio.get_running_loop().create_future()
        self._writer = asyncio.create_task(self._write_loop(), name=f"delivery-writer-{self.name}")
        self._sender = asyncio.create_task(self._send_loop(), name=f"delivery-sender-{self.name}")
        self._sender.add_done_callback(self._on_sender_end)

    async def shutdown(self, grace: float) -> None:
        """Stop intake, keep sending for up to `grace` seconds, then stop; the rest stays journaled."""
        if not self._running:
            return
        self._running = False
        self._room.set()  # puts waiting for room now fail instead of waiting forever
        self._wake_writer.set()
        self._flushing = True
        self._arrived.set()
        if self._queued_items and self._crash is None:
            await self._wait(self._drained, grace)
        if self._sender is not None:
            await _cancel(self._sender)
        if self._writer is not None:
            await self._writer  # it commits what puts already handed over, then ends
        try:
            await self.sink.close()
        finally:
            await self._journal.close()
        if self._queued_items:
            log.warning("unsent items left at shutdown", sink=self.name, items=self._queued_items,
                        persisted=self.params.journal)

    @property
    def failure(self) -> str | None:
        """Why the sender stopped on its own (a bug), or None while it runs or after a normal shutdown."""
        return self._crash

    def _on_sender_end(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        self._crash = f"{type(exc).__name__}: {exc}"
        log.error("delivery sender stopped", sink=self.name, error=self._crash, exc_info=exc)

    # ---- intake (the Outlet side)

    async def put(self, items: Sequence[Signal]) -> None:
        """Accept items; returns once they are committed to the journal, waits while the queue is full."""
        if not items:
            return
        self._check_running()
        self._check_kinds(items)
        encoded = [self._encode(item) for item in items]
        size = sum(len(data) for data in encoded)
        while not self._has_room(len(items), size):
            self._room.clear()
            await self._room.wait()
            self._check_running()
        self._queued_items += len(items)
        self._queued_bytes += size
        self._drained.clear()
        now = self._clock.now()
        self._pending.extend((now, data) for data in encoded)
        self._pending_items.extend(items)
        group = self._group
        assert group is not None
        self._wake_writer.set()
        # shield: a cancelled put must not cancel the commit other puts share.
        await asyncio.shield(group)

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

    def _has_room(self, count: int, size: int) -> bool:
        if self._queued_items == 0:
            return True  # one put larger than the limits is admitted alone rather than never
        return (
            self._queued_items + count <= self.params.max_queue_items
            and self._queued_bytes + size <= self.params.max_queue_bytes
        )

    async def _write_loop(self) -> None:
        while self._running or self._pending:
            if not self._pending:
                self._wake_writer.clear()
                await self._wake_writer.wait()
                continue
            await self._commit_group()

    async def _commit_group(self) -> None:
        rows, items, group = self._pending, self._pending_items, self._group
        assert group is not None
        # Puts that arrive while this commit runs share the next one.
        self._pending, self._pending_items = [], []
        self._group = asyncio.get_running_loop().create_future()
        try:
            async with self._window_lock:
                seqs = await self._journal.append(rows)
                self._admit(seqs, rows, items)
        except Exception as exc:
            self._queued_items -= len(rows)
            self._queued_bytes -= sum(len(data) for _, data in rows)
            log.error("journal write failed", sink=self.name, error=str(exc))
            _fail_future(group, exc)
            return
        group.set_result(None)

    def _admit(self, seqs: list[int], rows: list[tuple[float, bytes]], items: list[Signal]) -> None:
        mono = asyncio.get_running_loop().time()
        for seq, (t, data), item in zip(seqs, rows, items, strict=True):
            if self._spilled or len(self._window) >= self.params.memory_items:
                self._spilled = True
                break
            self._window.append(Entry(seq, t, len(data), item, mono))
            self._window_bytes += len(data)
            self._loaded_to = seq
        self._arrived.set()

    # ---- the sender

    async def _send_loop(self) -> None:
        while True:
            batch = await self._next_batch()
            self._inflight = batch
            try:
                await self._deliver(batch)
            finally:
                self._inflight = []

    async def _next_batch(self) -> list[Entry]:
        while True:
            self._arrived.clear()
            await self._refill()
            if not self._window:
                await self._arrived.wait()
                continue
            wait = self._batch_wait()
            if wait <= 0:
                return self._take_batch()
            await self._wait(self._arrived, wait)

    async def _refill(self) -> None:
        """Read the next items back from the journal once the window has drained to half."""
        if not self._spilled or len(self._window) > self.params.memory_items // 2:
            return
        async with self._window_lock:
            want = self.params.memory_items - len(self._window)
            rows = await self._journal.read_after(self._loaded_to, want)
            mono = asyncio.get_running_loop().time() - self.limits.max_age  # old items: their batch is due now
            broken: list[Stored] = []
            for row in rows:
                self._loaded_to = row.seq
                try:
                    entry = Entry(row.seq, row.time, len(row.data), decode(row.data), mono)
                except (ValueError, KeyError, TypeError):  # not JSON, unknown kind, or missing fields
                    broken.append(row)
                    continue
                self._window.append(entry)
                self._window_bytes += entry.size
            if len(rows) < want:
                self._spilled = False
        if broken:
            await self._drop_broken(broken)

    async def _drop_broken(self, rows: list[Stored]) -> None:
        """Journal rows that no longer decode (a hand-edited or damaged file) go to the dead-letter file raw."""
        self._dead.write_raw([row.data for row in rows], "journal entry cannot be decoded")
        self._m.dead_lettered.inc(len(rows))
        await self._journal.delete([row.seq for row in rows])
        self._queued_items -= len(rows)
        self._queued_bytes -= sum(len(row.data) for row in rows)
        self._room.set()
        if self._queued_items == 0:
            self._drained.set()

    def _batch_wait(self) -> float:
        """Seconds until the window's head batch is due (0: send now)."""
        full = len(self._window) >= self.limits.max_items or self._window_bytes >= self.limits.max_bytes
        if full or self._flushing or self._spilled:
            return 0.0
        return self._window[0].ready_at + self.limits.max_age - asyncio.get_running_loop().time()

    def _take_batch(self) -> list[Entry]:
        batch: list[Entry] = []
        size = 0
        while self._window and len(batch) < self.limits.max_items:
            entry = self._window[0]
            if batch and size + entry.size > self.limits.max_bytes:
                break
            self._window.popleft()
            self._window_bytes -= entry.size
            batch.append(entry)
            size += entry.size
        return batch

    async def _deliver(self, batch: list[Entry]) -> None:
        """Send one batch until it is delivered, dead-lettered, or partly re-queued."""
        if len(batch) == 1 and batch[0].size > self.limits.max_bytes:
            await self._dead_letter(batch, f"item of {batch[0].size} bytes exceeds the sink's batch limit "
                                           f"of {self.limits.max_bytes} bytes")
            return
        attempt = 0
        while batch:
            batch = await self._drop_expired(batch)
            if not batch:
                return
            try:
                failures = await self._send(batch)
            except PermanentError as exc:
                await self._dead_letter(batch, f"rejected: {exc}")
                return
            except Exception as exc:  # RetryableError, timeouts, and sink bugs: the items stay journaled
                self._note_failure(exc)
                self._m.retried.inc(len(batch))
                await self._clock.sleep(self._backoff(attempt))
                attempt += 1
                continue
            self._note_recovery()
            await self._settle(batch, failures)
            return

    async def _send(self, batch: list[Entry]) -> list[ItemFailure]:
        started = time.perf_counter()
        try:
            return await asyncio.wait_for(self.sink.send([e.item for e in batch]), self.params.timeout)
        except TimeoutError:
            self._m.failed.inc()
            raise TimeoutError(f"send timed out after {self.params.timeout}s") from None
        except Exception:
            self._m.failed.inc()
            raise
        finally:
            self._m.send_duration.observe(time.perf_counter() - started)

    async def _settle(self, batch: list[Entry], failures: list[ItemFailure]) -> None:
        """Account a send that returned: delivered items leave, failed ones are dead-lettered or re-queued."""
        failed = {f.index: f for f in failures if 0 <= f.index < len(batch)}
        if len(failed) != len(failures):
            log.error("sink reported failures for items not in the batch", sink=self.name,
                      indexes=sorted({f.index for f in failures} - set(failed)))
        delivered = [e for i, e in enumerate(batch) if i not in failed]
        self._m.sent.inc(len(delivered))
        await self._remove(delivered)
        for index, failure in failed.items():
            if not failure.retryable:
                await self._dead_letter([batch[index]], failure.reason)
        again = [batch[i] for i in sorted(failed) if failed[i].retryable]
        if not again:
            return
        self._m.retried.inc(len(again))
        attempt = max(e.attempts for e in again)
        for entry in again:
            entry.attempts += 1
        self._last_error = failed[min(i for i in failed if failed[i].retryable)].reason
        self._window.extendleft(reversed(again))  # back at the head: they are the oldest
        self._window_bytes += sum(e.size for e in again)
        await self._clock.sleep(self._backoff(attempt))

    async def _drop_expired(self, batch: list[Entry]) -> list[Entry]:
        limit = self._clock.now() - self.params.retry_max_age
        expired = [e for e in batch if e.time < limit]
        if expired:
            reason = f"undelivered after retry_max_age {self.params.retry_max_age:g}s"
            await self._dead_letter(expired, f"{reason}: {self._last_error}" if self._last_error else reason)
        return [e for e in batch if e.time >= limit]

    async def _dead_letter(self, entries: list[Entry], reason: str) -> None:
        self._dead.write([e.item for e in entries], reason)
        self._m.dead_lettered.inc(len(entries))
        await self._remove(entries)

    async def _remove(self, entries: list[Entry]) -> None:
        if not entries:
            return
        await self._journal.delete([e.seq for e in entries])
        self._queued_items -= len(entries)
        self._queued_bytes -= sum(e.size for e in entries)
        self._room.set()
        if self._queued_items == 0:
            self._drained.set()

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.params.retry_base, self.params.retry_cap, self._rng)

    def _note_failure(self, exc: Exception) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"
        if not self._failing:
            self._failing = True
            log.warning("sink failing, retrying", sink=self.name, error=self._last_error)

    def _note_recovery(self) -> None:
        if self._failing:
            self._failing = False
            log.info("sink recovered", sink=self.name)

    @staticmethod
    async def _wait(event: asyncio.Event, timeout: float) -> None:
        """Wait for `event` or `timeout` real seconds, whichever comes first."""
        # Batch age and shutdown grace are I/O pacing, not logic: they run on real time, so a test driving
        # a ManualClock still sees items delivered without advancing it. Retry backoff uses the Clock.
        try:
            await asyncio.wait_for(event.wait(), max(0.0, timeout))
        except TimeoutError:
            pass


def _fail_future(future: asyncio.Future[None], exc: Exception) -> None:
    future.set_exception(exc)
    future.exception()  # marks it retrieved, so no warning when no put awaits it; awaiting puts still raise


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel and wait; a task that already died was logged by its done-callback, so its error is not raised."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
