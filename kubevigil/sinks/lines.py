"""JSON lines for the local sinks (stdout, file): an item's own form, or a record's layout."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from kubevigil.core.jsontext import to_json
from kubevigil.core.signals import Record, Signal
from kubevigil.core.templating import RenderError, Value
from kubevigil.sinks.payloads import layout_document
from kubevigil.sinks.sink import ItemFailure


def encode_lines(batch: Sequence[Signal], layout: Value | None) -> tuple[list[bytes], list[ItemFailure]]:
    """One line per item; with a layout, records become the rendered document and may fail alone."""
    lines: list[bytes] = []
    failures: list[ItemFailure] = []
    for i, item in enumerate(batch):
        if layout is None or not isinstance(item, Record):
            lines.append(orjson.dumps(item.to_dict()) + b"\n")
            continue
        try:
            lines.append(to_json(layout_document(item, layout)) + b"\n")
        except (RenderError, TypeError) as exc:
            failures.append(ItemFailure(i, f"record {item.id}: layout failed: {exc}", retryable=False))
    return lines, failures
