"""Bulk indexing shared by the opensearch and elasticsearch sinks: one `_bulk` body per batch, per-item results."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import orjson
from pydantic import Field, SecretStr

from kubevigil.core.model import Model
from kubevigil.core.signals import Record
from kubevigil.core.templating import (
    RenderError,
    TemplateText,
    TemplateValue,
    Text,
    compile_text,
    compile_value,
    record_context,
)
from kubevigil.sinks.payloads import Payload, de_dot, render
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, SignalKind, Sink, SinkContext, error_for_status, no_ack

DEFAULT_INDEX = "kube-events-{{ event_time | strftime('%Y.%m.%d') }}"
_MAX_DOC_BYTES = 100 * 1024 * 1024  # http.max_content_length: no single document can be larger


class BasicAuth(Model):
    username: str
    password: SecretStr


class SearchParams(Model):
    """What both search sinks share: where, which index (templated from the event's time), how to log in."""

    hosts: list[str] = Field(min_length=1, description="Cluster URLs, e.g. https://search.example:443")
    index: TemplateText = Field(DEFAULT_INDEX, description="Index name template; `event_time` is the event's own time")
    layout: TemplateValue | None = Field(None, description="Document layout; default: the record body as is")
    de_dot: bool = Field(False, description="Replace dots in label and annotation keys with underscores")
    basic_auth: BasicAuth | None = None
    api_key: SecretStr | None = Field(None, description="API key (Authorization: ApiKey ...)")
    verify_tls: bool = True
    ca_file: str | None = None
    timeout: float = Field(10.0, gt=0, description="Seconds one bulk request may take")
    max_bulk_items: int = Field(1000, gt=0, le=100_000)
    max_bulk_bytes: int = Field(5_000_000, gt=0, le=100_000_000, description="Bytes of one `_bulk` body")


class BulkBuilder:
    """Turns a batch of Records into `_bulk` operations: `index` with the record id, so a retry overwrites."""

    def __init__(self, params: SearchParams) -> None:
        self._index: Text = compile_text(params.index)
        self._layout = compile_value(params.layout) if params.layout is not None else None
        self._de_dot = params.de_dot

    def build(self, batch: Sequence[Record]) -> tuple[bytes, list[Payload], list[ItemFailure]]:
        """NDJSON body, the payloads in it (in order), and the items that failed to render."""
        records = [de_dot(r) for r in batch] if self._de_dot else batch
        payloads, failures = render(records, self._layout, _MAX_DOC_BYTES, "the search cluster")
        lines: list[bytes] = []
        kept: list[Payload] = []
        for p in payloads:
            try:
                index = self._index.render(record_context(p.record))
            except RenderError as exc:
                failures.append(ItemFailure(p.index, f"record {p.record.id}: index template failed: {exc}", False))
                continue
            lines += [orjson.dumps({"index": {"_index": index, "_id": p.record.id}}), p.data]
            kept.append(p)
        return b"\n".join(lines) + b"\n", kept, failures


class BulkIndexSink(Sink[Record]):
    """A sink that indexes each batch with one `_bulk` request; subclasses own the client and its errors."""

    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"record"})

    def __init__(self, params: SearchParams, ctx: SinkContext) -> None:
        self.params = params
        self.limits = BatchLimits(max_items=params.max_bulk_items, max_bytes=params.max_bulk_bytes, max_age=1.0)
        self._builder = BulkBuilder(params)

    async def send(self, batch: Sequence[Record], ack: Ack = no_ack) -> list[ItemFailure]:
        body, payloads, failures = self._builder.build(batch)
        if not payloads:
            return failures
        return failures + item_failures(await self._bulk(body), payloads)

    @abstractmethod
    async def _bulk(self, body: bytes) -> dict[str, Any]:
        """Send one NDJSON body; return the parsed response or raise SinkError."""


def item_failures(response: dict[str, Any], payloads: Sequence[Payload]) -> list[ItemFailure]:
    """Per-item errors of a `_bulk` response, classified by their status as whole requests are (`error_for_status`):
    429 and 5xx retry, 401/403/404 (a missing index with auto-create off) wait for an operator, mapping errors and
    other 4xx are permanent."""
    if not response.get("errors"):
        return []
    failures = []
    for item, payload in zip(response.get("items", []), payloads, strict=False):
        (result,) = item.values()
        error = result.get("error")
        if not error:
            continue
        status = int(result.get("status", 0))
        reason = error.get("reason", "") if isinstance(error, dict) else str(error)
        kind = error.get("type", "error") if isinstance(error, dict) else "error"
        message = f"{status} {kind}: {reason}"
        failures.append(ItemFailure(payload.index, message, error_for_status(status or None, message).retryable))
    return failures
