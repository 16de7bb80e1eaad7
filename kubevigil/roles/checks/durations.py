"""Durations as people write them in specs: 30, "30s", "5m", "1h30m", "250ms"."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from a number or a Go-style duration string; ValueError naming the value otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        if not text or _PART.sub("", text):
            if text.replace(".", "", 1).isdigit():
                return float(text)
            raise ValueError(f"{value!r} is not a duration (use e.g. 30, '30s', '5m', '1h30m')")
        seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
    if seconds < 0:
        raise ValueError(f"{value!r}: a duration cannot be negative")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema({"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}],
                    "description": "Seconds, or a duration such as 30s, 5m, 1h30m"}),
]
