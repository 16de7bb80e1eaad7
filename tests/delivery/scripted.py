"""Sinks a test can switch between up, down, slow and picky, and an async wait on a condition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from kubevigil.core.signals import Record, Signal
from kubevigil.sinks.sink import (
    AccessError,
    Ack,
    BatchLimits,
    ItemFailure,
    PermanentError,
    RetryableError,
    SignalKind,
    Sink,
    no_ack,
)


class ScriptedSink(Sink[Any]):
    """Records every batch it accepts; `down`, `reject` and `item_failures` make it fail on purpose."""

    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"metric", "record"})

    def __init__(self, limits: BatchLimits | None = None) -> None:
        if limits is not None:
            self.limits = limits
        self.batches: list[list[Signal]] = []
        self.attempts = 0
        self.down = False
        self.refuse = ""  # an access error (401, 403, 404) with this text while set
        self.delay = 0.0
        self.reject: Callable[[Signal], bool] = lambda item: False
        self.item_failures: Callable[[Sequence[Signal]], list[ItemFailure]] = lambda batch: []
        self.started = False
        self.closed = False

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def send(self, batch: Sequence[Signal], ack: Ack = no_ack) -> list[ItemFailure]:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise RetryableError("503 Service Unavailable")
        if self.refuse:
            raise AccessError(self.refuse)
        if any(self.reject(item) for item in batch):
            raise PermanentError("400 mapper_parsing_exception")
        failures = self.item_failures(batch)
        self.batches.append(list(batch))
        return failures

    @property
    def delivered(self) -> list[Signal]:
        return [item for batch in self.batches for item in batch]


def records(n: int, start: int = 0) -> list[Record]:
    return [Record(id=f"r{i}", timestamp=1_700_000_000.0 + i, body={"i": i}) for i in range(start, start + n)]

