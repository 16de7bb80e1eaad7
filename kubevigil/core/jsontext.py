"""JSON text from Python values: the one encoder behind template filters, layouts and sink payloads."""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return list(value)
    from jinja2 import Undefined  # only a template makes one, and the template has loaded Jinja2

    if isinstance(value, Undefined):  # a template value whose source is missing from this record
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any) -> bytes:
    """Compact UTF-8 JSON: datetimes as RFC 3339, missing template values as null, NaN and infinities as null."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def to_pretty_json(value: Any) -> bytes:
    """Two-space indented JSON, as sprig's toPrettyJson writes it."""
    return orjson.dumps(value, default=_default, option=_OPTIONS | orjson.OPT_INDENT_2)
