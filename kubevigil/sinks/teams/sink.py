"""The `teams` sink: one MessageCard (or a custom layout) per record to a Teams webhook."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_value
from kubevigil.sinks.http_post import HttpSink, send_each
from kubevigil.sinks.payloads import Payload, render
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, SinkContext, no_ack
from kubevigil.sinks.teams.params import Params

_MAX_BODY = 28 * 1024  # Teams rejects webhook messages over about 28 KB
_WARNING_COLOR, _NORMAL_COLOR = "D9534F", "5BC0DE"


def message_card(title: str, text: str) -> dict[str, Any]:
    """A legacy actionable MessageCard, the format every Teams webhook flavour accepts."""
    color = _WARNING_COLOR if title.startswith("Warning") else _NORMAL_COLOR
    return {"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": title[:150],
            "themeColor": color, "title": title, "text": text}


class TeamsSink(HttpSink):
    limits = BatchLimits(max_items=20, max_bytes=500_000, max_age=0.5)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        super().__init__("teams", params)
        self.params = params
        source = params.layout if params.layout is not None else {"title": params.title, "text": params.text}
        self._layout = compile_value(source)
        self._card = params.layout is None

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        payloads, failures = render(batch, self._layout, _MAX_BODY, "Teams")
        return failures + await send_each(payloads, self._post, ack)

    async def _post(self, payload: Payload) -> None:
        data = payload.data
        if self._card:
            fields = orjson.loads(data)
            data = orjson.dumps(message_card(str(fields["title"]), str(fields["text"])))
        await self._poster.post(self.params.endpoint, data, {"Content-Type": "application/json"})
