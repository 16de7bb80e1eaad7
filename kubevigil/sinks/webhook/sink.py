"""The `webhook` sink: one JSON POST per record, headers templated per record."""

from __future__ import annotations

from collections.abc import Sequence

from kubevigil.core.signals import Record
from kubevigil.core.templating import RenderError, compile_text, compile_value, record_context
from kubevigil.sinks.http_post import HttpSink, send_each
from kubevigil.sinks.payloads import Payload, render
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, PermanentError, SinkContext, no_ack
from kubevigil.sinks.webhook.params import Params

_MAX_BODY = 10 * 1024 * 1024


class WebhookSink(HttpSink):
    limits = BatchLimits(max_items=50, max_bytes=5_000_000, max_age=0.5)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        super().__init__("webhook", params)
        self.params = params
        self._layout = compile_value(params.layout) if params.layout is not None else None
        self._headers = {k: compile_text(v.get_secret_value()) for k, v in params.headers.items()}

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        payloads, failures = render(batch, self._layout, _MAX_BODY, "the webhook")
        return failures + await send_each(payloads, self._post, ack)

    async def _post(self, payload: Payload) -> None:
        ctx = record_context(payload.record)
        try:
            headers = {k: t.render(ctx) for k, t in self._headers.items()}
        except RenderError as exc:
            raise PermanentError(f"record {payload.record.id}: header template failed: {exc}") from exc
        headers.setdefault("Content-Type", "application/json")
        await self._poster.post(self.params.endpoint, payload.data, headers)
