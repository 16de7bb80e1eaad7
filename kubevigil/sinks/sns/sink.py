"""SNS sink: PublishBatch, 10 messages and 256 KiB per call; per-entry failures fail only that record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_value
from kubevigil.sinks.aws import call, make_client
from kubevigil.sinks.payloads import Payload, chunks, failed_by_id, fifo_id, render, send_in_order
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, Sink, SinkContext, no_ack
from kubevigil.sinks.sns.params import Params

MAX_ENTRIES = 10
MAX_BYTES = 262_144  # per message and per call


class SnsSink(Sink[Record]):
    kinds = frozenset({"record"})
    limits = BatchLimits(max_items=MAX_ENTRIES, max_bytes=MAX_BYTES)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.layout = None if params.layout is None else compile_value(params.layout)
        self.client: Any = make_client("sns", params)

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        payloads, failures = render(batch, self.layout, MAX_BYTES, "SNS")
        runs = list(chunks(payloads, MAX_ENTRIES, MAX_BYTES, lambda p: len(p.data)))
        return failures + await send_in_order(runs, self._put, ack)

    async def close(self) -> None:
        self.client.close()

    async def _put(self, run: Sequence[Payload]) -> list[ItemFailure]:
        entries = [self._entry(str(n), p) for n, p in enumerate(run)]
        reply = await call(
            self.client.publish_batch, TopicArn=self.params.topic_arn, PublishBatchRequestEntries=entries
        )
        return failed_by_id(run, reply.get("Failed", []), "SNS")

    def _entry(self, entry_id: str, payload: Payload) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": entry_id, "Message": payload.data.decode()}
        if self.params.fifo:
            entry["MessageDeduplicationId"] = fifo_id(payload.record.id)
            entry["MessageGroupId"] = self.params.message_group_id or fifo_id(payload.record.id)
        return entry
