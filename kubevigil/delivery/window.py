"""The oldest unsent items of a sink, in memory and in journal order; what does not fit stays on disk until read back."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kubevigil.core.signals import Signal
from kubevigil.delivery.codec import decode
from kubevigil.delivery.journal import Journal, Stored
from kubevigil.sinks.sink import BatchLimits


@dataclass(slots=True)
class Entry:
    """An accepted item on its way to the sink."""

    seq: int
    time: float  # accept time, epoch seconds; survives restarts through the journal
    size: int  # bytes of its journal encoding
    item: Signal
    ready_at: float  # loop time when it joined the window: the start of its batch age
    attempts: int = 0


class Window:
    """Keeps up to `memory_items` entries ahead of the sender and cuts them into batches within the sink's limits.

    Items beyond it are only in the journal ("spilled") and are read back once the window has drained to half, so
    memory stays flat however long a sink is down."""

    def __init__(self, journal: Journal, memory_items: int, limits: BatchLimits,
                 discard: Callable[[list[Stored]], Awaitable[None]]) -> None:
        self.limits = limits
        self.arrived = asyncio.Event()
        self.lock = asyncio.Lock()  # held while the journal and the window change together
        self._journal = journal
        self._memory_items = memory_items
        self._discard = discard  # journal rows that no longer decode
        self._entries: deque[Entry] = deque()
        self._bytes = 0
        self._spilled = True  # the journal may hold items not in the window (all of them, at start)
        self._loaded_to = 0  # highest seq ever placed in the window
        self._flushing = False

    def __len__(self) -> int:
        return len(self._entries)

    def oldest_time(self) -> float | None:
        """Accept time of the head entry, or None when the window is empty."""
        return self._entries[0].time if self._entries else None

    def admit(self, seqs: list[int | None], rows: list[tuple[float, bytes]], items: list[Signal]) -> None:
        """Take items just committed to the journal (seq None: not stored), unless the window is full or older
        items wait on disk."""
        mono = asyncio.get_running_loop().time()
        for seq, (t, data), item in zip(seqs, rows, items, strict=True):
            if seq is None:
                continue
            if self._spilled or len(self._entries) >= self._memory_items:
                self._spilled = True
                break
            self._entries.append(Entry(seq, t, len(data), item, mono))
            self._bytes += len(data)
            self._loaded_to = seq
        self.arrived.set()

    def requeue(self, entries: list[Entry]) -> None:
        """Put entries back at the head: they are the oldest."""
        self._entries.extendleft(reversed(entries))
        self._bytes += sum(e.size for e in entries)

    def flush(self) -> None:
        """From now on a partial batch goes out at once (shutdown)."""
        self._flushing = True
        self.arrived.set()

    async def next_batch(self) -> list[Entry]:
        """Wait until a batch is due: full, aged `max_age` (real time), or flushing; then take it."""
        while True:
            self.arrived.clear()
            await self._refill()
            if not self._entries:
                await self.arrived.wait()
                continue
            wait = self._batch_wait()
            if wait <= 0:
                return self._take_batch()
            await wait_real(self.arrived, wait)

    async def _refill(self) -> None:
        """Read the next items back from the journal once the window has drained to half."""
        if not self._spilled or len(self._entries) > self._memory_items // 2:
            return
        broken: list[Stored] = []
        async with self.lock:
            want = self._memory_items - len(self._entries)
            rows = await self._journal.read_after(self._loaded_to, want)
            mono = asyncio.get_running_loop().time() - self.limits.max_age  # old items: their batch is due now
            for row in rows:
                self._loaded_to = row.seq
                try:
                    entry = Entry(row.seq, row.time, len(row.data), decode(row.data), mono)
                except (ValueError, KeyError, TypeError):  # not JSON, unknown kind, or missing fields
                    broken.append(row)
                    continue
                self._entries.append(entry)
                self._bytes += entry.size
            if len(rows) < want:
                self._spilled = False
        if broken:
            await self._discard(broken)

    def _batch_wait(self) -> float:
        """Seconds until the head batch is due (0: send now)."""
        full = len(self._entries) >= self.limits.max_items or self._bytes >= self.limits.max_bytes
        if full or self._flushing or self._spilled:
            return 0.0
        return self._entries[0].ready_at + self.limits.max_age - asyncio.get_running_loop().time()

    def _take_batch(self) -> list[Entry]:
        batch: list[Entry] = []
        size = 0
        while self._entries and len(batch) < self.limits.max_items:
            entry = self._entries[0]
            if batch and size + entry.size > self.limits.max_bytes:
                break
            self._entries.popleft()
            self._bytes -= entry.size
            batch.append(entry)
            size += entry.size
        return batch


async def wait_real(event: asyncio.Event, timeout: float) -> None:
    """Wait for `event` or `timeout` real seconds, whichever comes first."""
    # Batch age and shutdown grace are I/O pacing, not logic: they run on real time, so a test driving
    # a ManualClock still sees items delivered without advancing it. Retry backoff uses the Clock.
    # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives as the event is set
    # (shutdown sets it and cancels the sender in one step), and the sender would then never stop.
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()
    except TimeoutError:
        pass
