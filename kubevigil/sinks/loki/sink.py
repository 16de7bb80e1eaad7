"""The `loki` sink: one push per batch, records grouped into streams by their rendered labels, oldest first."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson

from kubevigil.core.signals import Record
from kubevigil.core.templating import RenderError, compile_text, compile_value, record_context
from kubevigil.sinks.http_post import HttpSink
from kubevigil.sinks.loki.params import Params
from kubevigil.sinks.payloads import Payload, render
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, SinkContext, no_ack

_MAX_LINE = 256 * 1024  # Loki's default max_line_size


class LokiSink(HttpSink):
    limits = BatchLimits(max_items=1000, max_bytes=3_000_000, max_age=1.0)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        super().__init__("loki", params)
        self.params = params
        self._layout = compile_value(params.layout) if params.layout is not None else None
        self._labels = {k: compile_text(v) for k, v in params.stream_labels.items()}
        self._url = params.url if params.url.rstrip("/").endswith("/push") else params.url.rstrip("/") + "/loki/api/v1/push"

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        payloads, failures = render(batch, self._layout, _MAX_LINE, "Loki")
        streams: dict[tuple[tuple[str, str], ...], list[Payload]] = {}
        for p in payloads:
            try:
                labels = self._stream_labels(p.record)
            except RenderError as exc:
                failures.append(ItemFailure(p.index, f"record {p.record.id}: label template failed: {exc}", False))
                continue
            streams.setdefault(labels, []).append(p)
        if streams:
            await self._poster.post(self._url, orjson.dumps(push_body(streams)), self._headers())
        return failures

    def _stream_labels(self, record: Record) -> tuple[tuple[str, str], ...]:
        ctx = record_context(record)
        return tuple(sorted((k, t.render(ctx)) for k, t in self._labels.items()))

    def _headers(self) -> dict[str, str]:
        headers = {k: v.get_secret_value() for k, v in self.params.headers.items()}
        headers["Content-Type"] = "application/json"
        if self.params.tenant_id:
            headers["X-Scope-OrgID"] = self.params.tenant_id
        if self.params.basic_auth:
            pair = f"{self.params.basic_auth.username}:{self.params.basic_auth.password.get_secret_value()}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return headers


def push_body(streams: dict[tuple[tuple[str, str], ...], list[Payload]]) -> dict[str, Any]:
    """Loki's JSON push format: entries as [nanosecond timestamp string, line], oldest first in each stream."""
    return {"streams": [
        {"stream": dict(labels),
         "values": [[str(int(p.record.timestamp * 1e9)), p.data.decode()]
                    for p in sorted(entries, key=lambda p: p.record.timestamp)]}
        for labels, entries in streams.items()
    ]}
