"""Firehose sink: PutRecordBatch, 500 records and 4 MiB per call; `FailedPutCount` fails only the records named."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_value
from kubevigil.sinks.aws import call, make_client
from kubevigil.sinks.firehose.params import Params
from kubevigil.sinks.payloads import Payload, chunks, de_dot, failed_in_order, render, send_in_order
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, Sink, SinkContext, no_ack

MAX_RECORDS = 500
MAX_BYTES = 4_194_304  # per call
MAX_RECORD_BYTES = 1_024_000  # one record, its newline included
RETRYABLE_CODES = frozenset({"ServiceUnavailableException", "InternalFailure", "ThrottlingException"})


class FirehoseSink(Sink[Record]):
    kinds = frozenset({"record"})
    limits = BatchLimits(max_items=MAX_RECORDS, max_bytes=MAX_BYTES)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.layout = None if params.layout is None else compile_value(params.layout)
        self.client: Any = make_client("firehose", params)

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        records = [de_dot(r) for r in batch] if self.params.de_dot else batch
        payloads, failures = render(records, self.layout, MAX_RECORD_BYTES - 1, "Firehose")
        runs = list(chunks(payloads, MAX_RECORDS, MAX_BYTES, lambda p: len(p.data) + 1))
        return failures + await send_in_order(runs, self._put, ack)

    async def close(self) -> None:
        self.client.close()

    async def _put(self, run: Sequence[Payload]) -> list[ItemFailure]:
        records = [{"Data": p.data + b"\n"} for p in run]
        reply = await call(
            self.client.put_record_batch, DeliveryStreamName=self.params.delivery_stream_name, Records=records
        )
        if not reply.get("FailedPutCount"):
            return []
        return failed_in_order(run, reply["RequestResponses"], "Firehose", RETRYABLE_CODES)
