"""SQS sink: SendMessageBatch, 10 messages and 256 KiB per call; per-entry failures fail only that record."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_value
from kubevigil.sinks.aws import call, make_client
from kubevigil.sinks.payloads import Payload, chunks, failed_by_id, fifo_id, render, send_in_order
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, Sink, SinkContext, no_ack
from kubevigil.sinks.sqs.params import Params

MAX_ENTRIES = 10
MAX_BYTES = 262_144  # per message and per call
# JSON allows these two characters raw but SQS refuses the whole batch for them; inside a JSON string (the only
# place they can be) the escaped form means the same.
_REFUSED = re.compile("[\ufffe\uffff]")


class SqsSink(Sink[Record]):
    kinds = frozenset({"record"})
    limits = BatchLimits(max_items=MAX_ENTRIES, max_bytes=MAX_BYTES)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.layout = None if params.layout is None else compile_value(params.layout)
        self.client: Any = make_client("sqs", params)
        self.queue_url = params.queue_url

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        payloads, failures = render(batch, self.layout, MAX_BYTES, "SQS")
        if not payloads:
            return failures
        queue_url = await self._queue_url()
        runs = list(chunks(payloads, MAX_ENTRIES, MAX_BYTES, lambda p: len(p.data)))
        return failures + await send_in_order(runs, lambda run: self._put(queue_url, run), ack)

    async def close(self) -> None:
        self.client.close()

    async def _queue_url(self) -> str:
        if self.queue_url is None:
            reply = await call(self.client.get_queue_url, QueueName=self.params.queue_name)
            self.queue_url = reply["QueueUrl"]
        return self.queue_url

    async def _put(self, queue_url: str, run: Sequence[Payload]) -> list[ItemFailure]:
        entries = [self._entry(str(n), p) for n, p in enumerate(run)]
        reply = await call(self.client.send_message_batch, QueueUrl=queue_url, Entries=entries)
        return failed_by_id(run, reply.get("Failed", []), "SQS")

    def _entry(self, entry_id: str, payload: Payload) -> dict[str, Any]:
        body = _REFUSED.sub(lambda m: f"\\u{ord(m.group()):04x}", payload.data.decode())
        entry: dict[str, Any] = {"Id": entry_id, "MessageBody": body}
        if self.params.fifo:
            entry["MessageDeduplicationId"] = fifo_id(payload.record.id)
            entry["MessageGroupId"] = self.params.message_group_id or fifo_id(payload.record.id)
        return entry
