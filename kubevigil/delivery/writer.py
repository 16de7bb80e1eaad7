"""Intake to the journal: group commit, so puts arriving while a commit runs share the next transaction."""

from __future__ import annotations

import asyncio

import structlog

from kubevigil.core.signals import Record, Signal
from kubevigil.delivery.backlog import Backlog
from kubevigil.delivery.journal import Journal
from kubevigil.delivery.window import Window

log = structlog.get_logger("kubevigil.delivery")


class JournalWriter:
    """Appends accepted items to the journal in groups and hands each committed group to the window."""

    def __init__(self, name: str, journal: Journal, window: Window, backlog: Backlog) -> None:
        self.name = name
        self._journal = journal
        self._window = window
        self._backlog = backlog
        self._rows: list[tuple[float, bytes]] = []
        self._items: list[Signal] = []
        self._group: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        self._running = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._running = True
        self._group = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._loop(), name=f"delivery-writer-{self.name}")

    async def stop(self) -> None:
        """Commit what puts already handed over, then end."""
        self._running = False
        self._wake.set()
        if self._task is not None:
            await self._task

    async def write(self, rows: list[tuple[float, bytes]], items: list[Signal]) -> None:
        """Return once `rows` (encoded `items`, with their accept times) are committed; raise if the commit failed."""
        group = self._group
        assert group is not None, "start() first"
        self._rows.extend(rows)
        self._items.extend(items)
        self._wake.set()
        # shield: a cancelled put must not cancel the commit other puts share.
        await asyncio.shield(group)

    async def _loop(self) -> None:
        while self._running or self._rows:
            if not self._rows:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._commit_group()

    async def _commit_group(self) -> None:
        rows, items, group = self._rows, self._items, self._group
        assert group is not None
        self._rows, self._items = [], []
        self._group = asyncio.get_running_loop().create_future()
        try:
            async with self._window.lock:
                seqs = await self._journal.append(rows, [i.id if isinstance(i, Record) else None for i in items])
                self._window.admit(seqs, rows, items)
        except Exception as exc:
            self._backlog.remove(len(rows), sum(len(data) for _, data in rows))
            log.error("journal write failed", sink=self.name, error=str(exc))
            _fail_future(group, exc)
            return
        queued = [data for (_, data), seq in zip(rows, seqs, strict=True) if seq is None]
        if queued:  # records replayed from the journal, handed over again by a role re-exporting after a crash
            self._backlog.remove(len(queued), sum(len(data) for data in queued))
        group.set_result(None)


def _fail_future(future: asyncio.Future[None], exc: Exception) -> None:
    future.set_exception(exc)
    future.exception()  # marks it retrieved, so no warning when no put awaits it; awaiting puts still raise
