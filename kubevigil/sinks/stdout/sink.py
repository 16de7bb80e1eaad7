"""Writes each item as one JSON line (its `to_dict()`) to standard output, flushed per batch."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from kubevigil.signals import Signal
from kubevigil.sinks.sink import BatchLimits, ItemFailure, RetryableError, SignalKind, Sink, SinkContext
from kubevigil.sinks.stdout.params import Params


class StdoutSink(Sink[Any]):
    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"metric", "record"})
    limits = BatchLimits(max_items=500, max_bytes=1_000_000, max_age=0.2)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.ctx = ctx

    async def send(self, batch: Sequence[Signal]) -> list[ItemFailure]:
        data = b"".join(orjson.dumps(item.to_dict()) + b"\n" for item in batch)
        try:
            # A slow reader on the pipe must block a worker thread, not the event loop.
            await asyncio.to_thread(_write, data)
        except OSError as exc:
            raise RetryableError(f"writing to stdout failed: {exc}") from exc
        return []


def _write(data: bytes) -> None:
    # Looked up per call so a replaced sys.stdout (tests, embedding) is honoured.
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode())
        stream.flush()
