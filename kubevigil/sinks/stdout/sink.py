"""Writes each item as one JSON line (its `to_dict()`, or a record's layout) to standard output, per batch."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from kubevigil.core.signals import Record, Signal
from kubevigil.core.templating import compile_value
from kubevigil.sinks.lines import encode_lines
from kubevigil.sinks.payloads import de_dot
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, RetryableError, SignalKind, Sink, SinkContext, no_ack
from kubevigil.sinks.stdout.params import Params


class StdoutSink(Sink[Any]):
    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"metric", "record"})
    limits = BatchLimits(max_items=500, max_bytes=1_000_000, max_age=0.2)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.ctx = ctx
        self._layout = compile_value(params.layout) if params.layout is not None else None

    async def send(self, batch: Sequence[Signal], ack: Ack = no_ack) -> list[ItemFailure]:
        items = [de_dot(i) if isinstance(i, Record) else i for i in batch] if self.params.de_dot else batch
        lines, failures = encode_lines(items, self._layout)
        data = b"".join(lines)
        try:
            # A slow reader on the pipe must block a worker thread, not the event loop.
            await asyncio.to_thread(_write, data)
        except OSError as exc:
            raise RetryableError(f"writing to stdout failed: {exc}") from exc
        return failures


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
