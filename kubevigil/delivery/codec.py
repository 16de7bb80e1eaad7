"""How a Metric or Record is stored in the journal: one orjson document tagged with its kind."""

from __future__ import annotations

from typing import Any

import orjson

from kubevigil.core.signals import Metric, Record, Signal


def encode(item: Signal) -> bytes:
    """The journal form of one item: `{"k": "m"|"r", ...item.to_dict()}`."""
    kind = "m" if isinstance(item, Metric) else "r"
    return orjson.dumps({"k": kind, **item.to_dict()})


def decode(data: bytes) -> Signal:
    """The item `encode` wrote; raises ValueError on a document it did not write."""
    doc: dict[str, Any] = orjson.loads(data)
    kind = doc.pop("k", None)
    if kind == "m":
        return Metric.from_dict(doc)
    if kind == "r":
        return Record.from_dict(doc)
    raise ValueError(f"journal entry has unknown kind {kind!r} (expected 'm' or 'r')")
