"""EventBridge sink: PutEvents, 10 entries and 256 KiB per call; per-entry errors fail only that record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_value
from kubevigil.sinks.aws import call, make_client
from kubevigil.sinks.eventbridge.params import Params
from kubevigil.sinks.payloads import Payload, chunks, failed_in_order, render, send_in_order
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, Sink, SinkContext, no_ack

MAX_ENTRIES = 10
MAX_BYTES = 262_144  # per entry and per call, counted as AWS counts an entry's size
TIME_BYTES = 14  # what AWS adds to an entry's size for its Time field
RETRYABLE_CODES = frozenset({"InternalFailure", "ThrottlingException"})


class EventBridgeSink(Sink[Record]):
    kinds = frozenset({"record"})
    limits = BatchLimits(max_items=MAX_ENTRIES, max_bytes=MAX_BYTES)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.layout = None if params.layout is None else compile_value(params.layout)
        self.client: Any = make_client("events", params)
        self.overhead = TIME_BYTES + len(params.source.encode()) + len(params.detail_type.encode())

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        rendered, failures = render(batch, self.layout, MAX_BYTES - self.overhead, "EventBridge")
        payloads = []
        for payload in rendered:
            if payload.data.startswith(b"{"):
                payloads.append(payload)
            else:
                start = payload.data[:40].decode(errors="replace")
                reason = f"record {payload.record.id}: EventBridge detail must be a JSON object, layout gave {start}"
                failures.append(ItemFailure(payload.index, reason, retryable=False))
        runs = list(chunks(payloads, MAX_ENTRIES, MAX_BYTES, lambda p: len(p.data) + self.overhead))
        return failures + await send_in_order(runs, self._put, ack)

    async def close(self) -> None:
        self.client.close()

    async def _put(self, run: Sequence[Payload]) -> list[ItemFailure]:
        reply = await call(self.client.put_events, Entries=[self._entry(p) for p in run])
        if not reply.get("FailedEntryCount"):
            return []
        return failed_in_order(run, reply["Entries"], "EventBridge", RETRYABLE_CODES)

    def _entry(self, payload: Payload) -> dict[str, Any]:
        return {
            "Time": datetime.fromtimestamp(payload.record.timestamp, UTC),
            "Source": self.params.source,
            "DetailType": self.params.detail_type,
            "Detail": payload.data.decode(),
            "EventBusName": self.params.event_bus_name,
        }
