"""The `slack` sink: chat.postMessage per record; Slack's `ok: false` answers are classified by their error code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from kubevigil.core.signals import Record
from kubevigil.core.templating import compile_text, record_context
from kubevigil.sinks.http_post import HttpSink, json_each, send_each
from kubevigil.sinks.payloads import Payload
from kubevigil.sinks.sink import (
    AccessError,
    Ack,
    BatchLimits,
    ItemFailure,
    PermanentError,
    RetryableError,
    SinkContext,
    no_ack,
)
from kubevigil.sinks.slack.params import Params

# Slack answers HTTP 200 with {"ok": false, "error": ...}. These codes clear up by themselves:
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "request_timeout", "service_unavailable"}
# these mean the token or the channel is wrong, which an operator fixes (the 401/403/404 of the table):
_ACCESS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
           "missing_scope", "channel_not_found", "not_in_channel", "is_archived", "team_access_not_granted"}


class SlackSink(HttpSink):
    limits = BatchLimits(max_items=20, max_bytes=1_000_000, max_age=0.5)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        super().__init__("slack", params)
        self.params = params
        self._message = compile_text(params.message)
        optional = {"title": params.title, "color": params.color, "footer": params.footer, "author_name": params.author_name}
        self._attachment = {k: compile_text(v) for k, v in optional.items() if v is not None}
        self._fields = {k: compile_text(v) for k, v in params.fields.items()}

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        payloads, failures = json_each(batch, self.message)
        return failures + await send_each(payloads, self._post, ack)

    def message(self, record: Record) -> dict[str, Any]:
        """The chat.postMessage body for one record."""
        ctx = record_context(record)
        body: dict[str, Any] = {"channel": self.params.channel, "text": self._message.render(ctx)}
        attachment: dict[str, Any] = {k: t.render(ctx) for k, t in self._attachment.items()}
        if self._fields:
            attachment["fields"] = [{"title": k, "value": t.render(ctx), "short": False} for k, t in self._fields.items()]
        if attachment:
            body["attachments"] = [attachment]
        return body

    async def _post(self, payload: Payload) -> None:
        token = self.params.token.get_secret_value()
        if not token:
            raise AccessError("slack: no token configured")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"}
        answer = orjson.loads(await self._poster.post(f"{self.params.api_url}/chat.postMessage", payload.data, headers))
        if not answer.get("ok"):
            code = answer.get("error", "unknown_error")
            error = RetryableError if code in _TRANSIENT else AccessError if code in _ACCESS else PermanentError
            raise error(f"slack: {code}")


