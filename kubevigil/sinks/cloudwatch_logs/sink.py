"""CloudWatch Logs sink: PutLogEvents with events in time order, each call within 10,000 events, 1 MiB (26 bytes
counted per event) and 24 hours; creates the group and stream on ResourceNotFound when allowed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_value
from kubevigil.sinks.aws import call, make_client
from kubevigil.sinks.cloudwatch_logs.params import Params
from kubevigil.sinks.payloads import Payload, chunks, render, send_in_order
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, Sink, SinkContext, SinkError, no_ack

MAX_EVENTS = 10_000
MAX_BYTES = 1_048_576  # per call, messages plus EVENT_OVERHEAD each
EVENT_OVERHEAD = 26
MAX_EVENT_BYTES = 262_144 - EVENT_OVERHEAD
MAX_SPAN_MS = 24 * 3600 * 1000


class CloudWatchLogsSink(Sink[Record]):
    kinds = frozenset({"record"})
    limits = BatchLimits(max_items=MAX_EVENTS, max_bytes=MAX_BYTES)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.layout = None if params.layout is None else compile_value(params.layout)
        self.group = params.log_group_name
        self.stream = params.log_stream_name.replace("{cluster}", ctx.cluster_name)
        self.client: Any = make_client("logs", params)

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        payloads, failures = render(batch, self.layout, MAX_EVENT_BYTES, "CloudWatch Logs")
        ordered = sorted(payloads, key=lambda p: _millis(p.record))
        runs = [
            run
            for span in _day_spans(ordered)
            for run in chunks(span, MAX_EVENTS, MAX_BYTES, lambda p: len(p.data) + EVENT_OVERHEAD)
        ]
        return failures + await send_in_order(runs, self._put, ack)

    async def close(self) -> None:
        self.client.close()

    async def _put(self, run: Sequence[Payload]) -> list[ItemFailure]:
        events = [{"timestamp": _millis(p.record), "message": p.data.decode()} for p in run]
        request = {"logGroupName": self.group, "logStreamName": self.stream, "logEvents": events}
        try:
            reply = await call(self.client.put_log_events, **request)
        except SinkError as exc:
            if not (self.params.create and _code(exc) == "ResourceNotFoundException"):
                raise
            await self._create()
            reply = await call(self.client.put_log_events, **request)
        return _rejected(run, reply.get("rejectedLogEventsInfo") or {})

    async def _create(self) -> None:
        """Create the group and the stream; either may exist already (another replica, or made by hand)."""
        for fn, kwargs in (
            (self.client.create_log_group, {"logGroupName": self.group}),
            (self.client.create_log_stream, {"logGroupName": self.group, "logStreamName": self.stream}),
        ):
            try:
                await call(fn, **kwargs)
            except SinkError as exc:
                if _code(exc) != "ResourceAlreadyExistsException":
                    raise


def _millis(record: Record) -> int:
    return int(record.timestamp * 1000)


def _day_spans(ordered: Sequence[Payload]) -> Iterator[list[Payload]]:
    """Runs of time-ordered payloads, each spanning at most 24 hours, as one PutLogEvents call must."""
    span: list[Payload] = []
    for payload in ordered:
        if span and _millis(payload.record) - _millis(span[0].record) > MAX_SPAN_MS:
            yield span
            span = []
        span.append(payload)
    if span:
        yield span


def _rejected(run: Sequence[Payload], info: dict[str, int]) -> list[ItemFailure]:
    """Events CloudWatch Logs accepted the call for but refused to store: too old, expired, or too far ahead."""
    failures = []
    for n, payload in enumerate(run):
        if n <= info.get("tooOldLogEventEndIndex", -1):
            failures.append(ItemFailure(payload.index, "CloudWatch Logs: event older than 14 days", retryable=False))
        elif n <= info.get("expiredLogEventEndIndex", -1):
            reason = "CloudWatch Logs: event older than the group's retention"
            failures.append(ItemFailure(payload.index, reason, retryable=False))
        elif n >= info.get("tooNewLogEventStartIndex", len(run)):
            # More than 2 hours ahead of AWS's clock: it becomes acceptable later, so delivery may retry it.
            reason = "CloudWatch Logs: event more than 2 hours ahead"
            failures.append(ItemFailure(payload.index, reason, retryable=True))
    return failures


def _code(exc: SinkError) -> str:
    cause = exc.__cause__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", ""))
    return ""
