"""Kinesis sink: PutRecords, 500 records and 5 MiB per call (data plus partition keys); per-record errors fail alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from kubevigil.core.signals import Record
from kubevigil.core.templating import RenderError, Text, compile_text, compile_value, record_context
from kubevigil.sinks.aws import call, make_client
from kubevigil.sinks.kinesis.params import Params
from kubevigil.sinks.payloads import Payload, chunks, failed_in_order, render, send_in_order
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, Sink, SinkContext, no_ack

MAX_RECORDS = 500
MAX_BYTES = 5_242_880  # per call, data plus partition keys
MAX_RECORD_BYTES = 1_048_576  # one record's data plus its partition key
MAX_KEY_CHARS = 256
RETRYABLE_CODES = frozenset({"ProvisionedThroughputExceededException", "InternalFailure", "KMSThrottlingException"})


class KinesisSink(Sink[Record]):
    kinds = frozenset({"record"})
    limits = BatchLimits(max_items=MAX_RECORDS, max_bytes=MAX_BYTES)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.layout = None if params.layout is None else compile_value(params.layout)
        self.partition_key: Text | None = None if params.partition_key is None else compile_text(params.partition_key)
        self.stream = {"StreamARN": params.stream_arn} if params.stream_arn else {"StreamName": params.stream_name}
        self.client: Any = make_client("kinesis", params)

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        rendered, failures = render(batch, self.layout, MAX_RECORD_BYTES, "Kinesis")
        payloads = []
        for payload in rendered:
            keyed = self._keyed(payload)
            if isinstance(keyed, ItemFailure):
                failures.append(keyed)
            else:
                payloads.append(keyed)
        runs = list(chunks(payloads, MAX_RECORDS, MAX_BYTES, _size))
        return failures + await send_in_order(runs, self._put, ack)

    async def close(self) -> None:
        self.client.close()

    def _keyed(self, payload: Payload) -> Payload | ItemFailure:
        """The payload with its partition key, or why it cannot have one."""
        record = payload.record
        try:
            key = record.id if self.partition_key is None else self.partition_key.render(record_context(record))
        except RenderError as exc:
            return ItemFailure(payload.index, f"record {record.id}: partition key failed: {exc}", retryable=False)
        if not 0 < len(key) <= MAX_KEY_CHARS:
            reason = f"record {record.id}: partition key is {len(key)} characters, Kinesis takes 1 to {MAX_KEY_CHARS}"
            return ItemFailure(payload.index, reason, retryable=False)
        keyed = dataclasses.replace(payload, key=key)
        if _size(keyed) > MAX_RECORD_BYTES:
            reason = f"record {record.id}: data and key are {_size(keyed)} bytes, over Kinesis's {MAX_RECORD_BYTES}"
            return ItemFailure(payload.index, reason, retryable=False)
        return keyed

    async def _put(self, run: Sequence[Payload]) -> list[ItemFailure]:
        records = [{"Data": p.data, "PartitionKey": p.key} for p in run]
        reply = await call(self.client.put_records, Records=records, **self.stream)
        if not reply.get("FailedRecordCount"):
            return []
        return failed_in_order(run, reply["Records"], "Kinesis", RETRYABLE_CODES)


def _size(payload: Payload) -> int:
    return len(payload.data) + len(payload.key.encode())
