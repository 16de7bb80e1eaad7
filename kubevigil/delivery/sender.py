"""A sink's sender: takes batches from the window, sends them with a timeout, retries, acknowledges, dead-letters."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from kubevigil.core.backoff import backoff_delay
from kubevigil.core.clock import Clock
from kubevigil.core.outage import Outage
from kubevigil.delivery.backlog import Backlog
from kubevigil.delivery.deadletter import DeadLetters
from kubevigil.delivery.journal import Journal, Stored
from kubevigil.delivery.metrics import SinkMetrics
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.delivery.window import Entry, Window
from kubevigil.sinks.sink import AccessError, ItemFailure, PermanentError, Sink

log = structlog.get_logger("kubevigil.delivery")

ACCESS_SUMMARY_EVERY = 300.0  # seconds between two log lines while a sink keeps refusing access


class Sender:
    """Sends one batch at a time until it is delivered, dead-lettered, or partly re-queued; an item leaves the
    journal only once the sink accepted it (acknowledged by a request, or by the end of the send)."""

    def __init__(self, name: str, sink: Sink[Any], params: DeliveryParams, journal: Journal, window: Window,
                 backlog: Backlog, dead: DeadLetters, metrics: SinkMetrics, clock: Clock,
                 rng: random.Random | None = None) -> None:
        self.name = name
        self.sink = sink
        self.params = params
        self.inflight: list[Entry] = []
        self.crash: str | None = None  # why the sender stopped on its own (a bug)
        self.access_denied = ""  # the sink's last refusal of credentials or destination, while it lasts
        self._journal = journal
        self._window = window
        self._backlog = backlog
        self._dead = dead
        self._m = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._failing = False
        self._last_error = ""
        self._access = Outage(summary_every=ACCESS_SUMMARY_EVERY)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"delivery-sender-{self.name}")
        self._task.add_done_callback(self._on_end)

    async def stop(self) -> None:
        """Cancel and wait; a sender that already died was logged by its done-callback, so its error is not raised."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _on_end(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        self.crash = f"{type(exc).__name__}: {exc}"
        log.error("delivery sender stopped", sink=self.name, error=self.crash, exc_info=exc)

    async def _loop(self) -> None:
        while True:
            batch = await self._window.next_batch()
            self.inflight = batch
            try:
                await self._deliver(batch)
            finally:
                self.inflight = []

    async def _deliver(self, batch: list[Entry]) -> None:
        limit = self._window.limits.max_bytes
        if len(batch) == 1 and batch[0].size > limit:
            await self._dead_letter(batch, f"item of {batch[0].size} bytes exceeds the sink's batch limit "
                                           f"of {limit} bytes")
            return
        attempt = 0
        while batch:
            batch = await self._drop_expired(batch)
            if not batch:
                return
            receipts = Receipts(batch, self._delivered)
            try:
                failures = await self._send(batch, receipts)
            except PermanentError as exc:
                await receipts.settled()
                await self._dead_letter(receipts.unacknowledged(), f"rejected: {exc}")
                return
            except Exception as exc:  # RetryableError, timeouts, and sink bugs: the items stay journaled
                await receipts.settled()
                batch = receipts.unacknowledged()
                self._note_failure(exc)
                self._m.retried.inc(len(batch))
                await self._clock.sleep(self._delay(exc, attempt))
                attempt += 1
                continue
            await receipts.settled()
            self._note_recovery()
            await self._settle(batch, failures, receipts.acknowledged)
            return

    async def _send(self, batch: list[Entry], receipts: Receipts) -> list[ItemFailure]:
        started = time.perf_counter()
        try:
            # asyncio.timeout, not wait_for: see window.wait_real.
            async with asyncio.timeout(self.params.timeout):
                return await self.sink.send([e.item for e in batch], receipts)
        except TimeoutError:
            self._m.failed.inc()
            raise TimeoutError(f"send timed out after {self.params.timeout}s") from None
        except Exception:
            self._m.failed.inc()
            raise
        finally:
            self._m.send_duration.observe(time.perf_counter() - started)

    async def _settle(self, batch: list[Entry], failures: list[ItemFailure], acked: set[int]) -> None:
        """Account a send that returned: delivered items leave, failed ones are dead-lettered or re-queued."""
        failed = {f.index: f for f in failures if 0 <= f.index < len(batch) and f.index not in acked}
        if len(failed) != len(failures):
            log.error("sink reported failures for items not in the batch or already acknowledged", sink=self.name,
                      indexes=sorted({f.index for f in failures} - set(failed)))
        await self._delivered([e for i, e in enumerate(batch) if i not in failed and i not in acked])
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
        self._window.requeue(again)
        await self._clock.sleep(self._backoff(attempt))

    async def _drop_expired(self, batch: list[Entry]) -> list[Entry]:
        limit = self._clock.now() - self.params.retry_max_age
        expired = [e for e in batch if e.time < limit]
        if expired:
            reason = f"undelivered after retry_max_age {self.params.retry_max_age:g}s"
            await self._dead_letter(expired, f"{reason}: {self._last_error}" if self._last_error else reason)
        return [e for e in batch if e.time >= limit]

    async def _delivered(self, entries: list[Entry]) -> None:
        self._m.sent.inc(len(entries))
        await self._remove(entries)

    async def _dead_letter(self, entries: list[Entry], reason: str) -> None:
        self._dead.write([e.item for e in entries], reason)
        self._m.dead_lettered.inc(len(entries))
        await self._remove(entries)

    async def discard(self, rows: list[Stored]) -> None:
        """Journal rows that no longer decode (a hand-edited or damaged file) go to the dead-letter file raw."""
        self._dead.write_raw([row.data for row in rows], "journal entry cannot be decoded")
        self._m.dead_lettered.inc(len(rows))
        await self._journal.delete([row.seq for row in rows])
        self._backlog.remove(len(rows), sum(len(row.data) for row in rows))

    async def _remove(self, entries: list[Entry]) -> None:
        if not entries:
            return
        await self._journal.delete([e.seq for e in entries])
        self._backlog.remove(len(entries), sum(e.size for e in entries))

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.params.retry_base, self.params.retry_cap, self._rng)

    def _delay(self, exc: Exception, attempt: int) -> float:
        """The backoff after a failed send: long while the sink refuses access, since only an operator fixes that."""
        if isinstance(exc, AccessError):
            return backoff_delay(attempt, self.params.access_retry_base,
                                 max(self.params.access_retry_base, self.params.access_retry_cap), self._rng)
        return self._backoff(attempt)

    def _note_failure(self, exc: Exception) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, AccessError):
            self._note_access_denied(str(exc))
        elif not self._failing:
            self._failing = True
            log.warning("sink failing, retrying", sink=self.name, error=self._last_error)

    def _note_access_denied(self, reason: str) -> None:
        self.access_denied = reason
        report = self._access.failed(self._clock.monotonic())
        if report == "first":
            log.error("sink refuses kubevigil's credentials or destination; items are kept and retried",
                      sink=self.name, error=reason, retry_base=self.params.access_retry_base)
        elif report == "summary":
            log.error("sink still refuses access", sink=self.name, error=reason,
                      for_seconds=round(self._access.duration(self._clock.monotonic())), attempts=self._access.failures)

    def _note_recovery(self) -> None:
        self.access_denied = ""
        ended = self._access.recovered(self._clock.monotonic())
        if ended is not None:
            log.info("sink accepts access again", sink=self.name, after_seconds=round(ended[0], 1),
                     failed_attempts=ended[1])
        if self._failing:
            self._failing = False
            log.info("sink recovered", sink=self.name)


class Receipts:
    """The sink's `ack` for one send: the batch positions it acknowledged, each removed from the journal before the
    sink goes on, even when the send is then cancelled by its timeout."""

    def __init__(self, batch: list[Entry], delivered: Callable[[list[Entry]], Awaitable[None]]) -> None:
        self.acknowledged: set[int] = set()
        self._batch = batch
        self._delivered = delivered
        self._pending: list[asyncio.Future[None]] = []

    async def __call__(self, indexes: Sequence[int]) -> None:
        fresh = sorted({i for i in indexes if 0 <= i < len(self._batch)} - self.acknowledged)
        if not fresh:
            return
        self.acknowledged.update(fresh)
        removal = asyncio.ensure_future(self._delivered([self._batch[i] for i in fresh]))
        self._pending.append(removal)
        # shield: a send timing out while the journal commits must not leave the entries half removed.
        await asyncio.shield(removal)

    async def settled(self) -> None:
        """Wait for every removal started by an acknowledgement; raises what one of them raised."""
        pending, self._pending = self._pending, []
        for removal in pending:
            await removal

    def unacknowledged(self) -> list[Entry]:
        return [e for i, e in enumerate(self._batch) if i not in self.acknowledged]
