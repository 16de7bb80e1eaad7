"""Appends each item as one JSON line (its `to_dict()`) to a file, rotating by size."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from kubevigil.core.signals import Record, Signal
from kubevigil.core.startup import StartupError, os_reason
from kubevigil.core.templating import compile_value
from kubevigil.sinks.file.params import Params
from kubevigil.sinks.lines import encode_lines
from kubevigil.sinks.payloads import de_dot
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, RetryableError, SignalKind, Sink, SinkContext, no_ack


class FileSink(Sink[Any]):
    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"metric", "record"})
    limits = BatchLimits(max_items=500, max_bytes=4_000_000, max_age=0.2)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.ctx = ctx
        self._file: BinaryIO | None = None
        self._size = 0
        self._layout = compile_value(params.layout) if params.layout is not None else None

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self._open)
        except OSError as exc:  # at start it is the path in the config that is wrong: say so in one line
            raise StartupError(f"cannot create or open {exc.filename or self.params.path}: {os_reason(exc)}") from None

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    async def send(self, batch: Sequence[Signal], ack: Ack = no_ack) -> list[ItemFailure]:
        items = [de_dot(i) if isinstance(i, Record) else i for i in batch] if self.params.de_dot else batch
        lines, failures = encode_lines(items, self._layout)
        try:
            await asyncio.to_thread(self._write, lines)
        except OSError as exc:
            # Disk full or a vanished mount heals; the items stay in delivery's journal meanwhile.
            self._close()
            raise RetryableError(f"writing {self.params.path} failed: {exc}") from exc
        return failures

    def _open(self) -> None:
        path = self.params.path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")
        self._size = self._file.tell()
        if self._size and not _ends_with_newline(path):
            # A crash mid-write left a torn last line; end it so the next line stays parseable.
            self._file.write(b"\n")
            self._size += 1

    def _close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None

    def _write(self, lines: list[bytes]) -> None:
        for line in lines:
            if self.params.max_bytes and self._size and self._size + len(line) > self.params.max_bytes:
                self._rotate()
            f = self._current()
            f.write(line)
            self._size += len(line)
            if self.params.fsync == "always":
                f.flush()
                os.fsync(f.fileno())
        f = self._current()
        f.flush()
        if self.params.fsync == "batch":
            os.fsync(f.fileno())

    def _current(self) -> BinaryIO:
        if self._file is None:
            self._open()
        assert self._file is not None
        return self._file

    def _rotate(self) -> None:
        """path -> path.1 -> path.2 ...; the oldest beyond `backups` is removed."""
        f = self._current()
        f.flush()
        if self.params.fsync != "never":
            os.fsync(f.fileno())
        self._close()
        path = self.params.path
        backups = self.params.backups
        if backups == 0:
            path.unlink(missing_ok=True)
        else:
            path.with_name(f"{path.name}.{backups}").unlink(missing_ok=True)
            for n in range(backups - 1, 0, -1):
                older = path.with_name(f"{path.name}.{n}")
                if older.exists():
                    older.rename(path.with_name(f"{path.name}.{n + 1}"))
            path.rename(path.with_name(f"{path.name}.1"))
        self._open()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
