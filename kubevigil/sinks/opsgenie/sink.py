"""The `opsgenie` sink: POST /v2/alerts per record with the GenieKey header."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_text, record_context
from kubevigil.sinks.http_post import HttpSink, json_each, send_each
from kubevigil.sinks.opsgenie.params import Params
from kubevigil.sinks.payloads import Payload
from kubevigil.sinks.sink import AccessError, Ack, BatchLimits, ItemFailure, SinkContext, no_ack

# Opsgenie's own field limits; longer values are cut, as its API would reject them.
_LIMITS = {"message": 130, "alias": 512, "description": 15_000, "entity": 512}


class OpsgenieSink(HttpSink):
    limits = BatchLimits(max_items=20, max_bytes=1_000_000, max_age=0.5)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        super().__init__("opsgenie", params)
        self.params = params
        texts = {"message": params.message, "alias": params.alias, "description": params.description, "entity": params.entity}
        self._texts = {k: compile_text(v) for k, v in texts.items() if v is not None}
        self._tags = [compile_text(t) for t in params.tags]
        self._details = {k: compile_text(v) for k, v in params.details.items()}

    def alert(self, record: Record) -> dict[str, Any]:
        """The Create Alert body for one record."""
        ctx = record_context(record)
        body: dict[str, Any] = {k: t.render(ctx)[: _LIMITS[k]] for k, t in self._texts.items()}
        body["priority"] = self.params.priority
        if self._tags:
            body["tags"] = [t.render(ctx) for t in self._tags]
        if self._details:
            body["details"] = {k: t.render(ctx) for k, t in self._details.items()}
        return body

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        payloads, failures = json_each(batch, self.alert)
        return failures + await send_each(payloads, self._post, ack)

    async def _post(self, payload: Payload) -> None:
        key = self.params.api_key.get_secret_value()
        if not key:
            raise AccessError("opsgenie: no API key configured")
        headers = {"Authorization": f"GenieKey {key}", "Content-Type": "application/json"}
        await self._poster.post(f"{self.params.api_url}/v2/alerts", payload.data, headers)
