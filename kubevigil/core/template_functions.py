"""The functions templates call, as filters (`x | f(a)`) and globals (`f(x, a)`): Go/sprig names, value first.

Imported with the template engine (core/templating.py builds it at the first template it compiles).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from jinja2 import Undefined

from kubevigil.core import jsontext


def _as_datetime(value: Any) -> datetime:
    """Datetimes, epoch seconds and RFC 3339 strings (Kubernetes timestamps) all become aware UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool) or value is None or isinstance(value, Undefined):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"not a time: {value!r}")


def to_json(value: Any) -> str:
    """Compact JSON, as Go's json.Marshal writes it."""
    return jsontext.to_json(value).decode()


def to_pretty_json(value: Any) -> str:
    """Two-space indented JSON, as sprig's toPrettyJson writes it."""
    return jsontext.to_pretty_json(value).decode()


def strftime(value: Any, fmt: str) -> str:
    return _as_datetime(value).strftime(fmt)


def timestamp_ms(value: Any) -> int:
    return round(_as_datetime(value).timestamp() * 1000)


def iso8601(value: Any) -> str:
    """Millisecond UTC form `2006-01-02T15:04:05.000Z` (event-exporter's GetTimestampISO8601)."""
    dt = _as_datetime(value).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _is_empty(value: Any) -> bool:
    return value is None or isinstance(value, Undefined) or value is False or value == 0 or value in ("", [], {})


def default(value: Any, fallback: Any = "") -> Any:
    """sprig's default: the fallback when the value is missing or empty (not only when undefined)."""
    return fallback if _is_empty(value) else value


def to_string(value: Any) -> str:
    if isinstance(value, Undefined) or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return to_json(value)
    return str(value)


def quote(value: Any) -> str:
    return to_json(to_string(value))


def squote(value: Any) -> str:
    return "'" + to_string(value) + "'"


def trunc(value: Any, length: int) -> str:
    """sprig's trunc: a negative length keeps the end."""
    text = to_string(value)
    return text[length:] if length < 0 else text[:length]


def contains(value: Any, part: Any) -> bool:
    return to_string(part) in to_string(value)


def has_prefix(value: Any, prefix: Any) -> bool:
    return to_string(value).startswith(to_string(prefix))


def has_suffix(value: Any, suffix: Any) -> bool:
    return to_string(value).endswith(to_string(suffix))


def trim_prefix(value: Any, prefix: Any) -> str:
    return to_string(value).removeprefix(to_string(prefix))


def trim_suffix(value: Any, suffix: Any) -> str:
    return to_string(value).removesuffix(to_string(suffix))


def b64enc(value: Any) -> str:
    return base64.b64encode(to_string(value).encode()).decode()


def b64dec(value: Any) -> str:
    return base64.b64decode(to_string(value)).decode("utf-8", "replace")


def go_values(value: Any) -> list[Any]:
    """What Go's `range` visits: a map's values in key order, a list's items, nothing for nil."""
    if _is_empty(value):
        return []
    if isinstance(value, Mapping):
        return [value[k] for k in sorted(value)]
    return list(value)


def go_items(value: Any) -> list[tuple[Any, Any]]:
    """(key, value) pairs of Go's `range $k, $v :=`: map keys in order, list indexes."""
    if _is_empty(value):
        return []
    if isinstance(value, Mapping):
        return [(k, value[k]) for k in sorted(value)]
    return list(enumerate(value))


def to_int(value: Any, fallback: int = 0) -> int:
    """sprig's int: the fallback (0) for anything that is not a number."""
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return fallback


def to_float(value: Any, fallback: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return fallback


def now() -> datetime:
    return datetime.now(UTC)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "strftime": strftime,
    "tojson": to_json,
    "toJson": to_json,
    "toprettyjson": to_pretty_json,
    "toPrettyJson": to_pretty_json,
    "timestamp_ms": timestamp_ms,
    "iso8601": iso8601,
    "upper": lambda v: to_string(v).upper(),
    "lower": lambda v: to_string(v).lower(),
    "title": lambda v: to_string(v).title(),
    "trim": lambda v: to_string(v).strip(),
    "quote": quote,
    "squote": squote,
    "default": default,
    "replace": lambda v, old, new: to_string(v).replace(to_string(old), to_string(new)),
    "trunc": trunc,
    "join": lambda v, sep="": to_string(sep).join(to_string(x) for x in go_values(v)),
    "contains": contains,
    "hasPrefix": has_prefix,
    "hasSuffix": has_suffix,
    "trimPrefix": trim_prefix,
    "trimSuffix": trim_suffix,
    "b64enc": b64enc,
    "b64dec": b64dec,
    "toString": to_string,
    "int": to_int,
    "float": to_float,
    "go_values": go_values,
    "go_items": go_items,
}
"""Each is a filter (`x | f(a)`) and a global (`f(x, a)`): the value always comes first."""
