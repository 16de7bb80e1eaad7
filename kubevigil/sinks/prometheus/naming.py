"""Turning kubevigil metric names, units and dimensions into valid Prometheus names, in base units."""

from __future__ import annotations

import re
from collections.abc import Iterable

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_INVALID_METRIC = re.compile(r"[^a-zA-Z0-9_:]+")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]+")
_HUMP = re.compile(r"[a-z][A-Z]")  # promtool's test for a camelCase name
# CloudWatch units with a Prometheus base unit: its name suffix and the factor to it. Prometheus wants seconds and
# bytes, never milliseconds (promtool flags `_ms` and `_milliseconds`); other units leave name and value alone.
_BASE_UNITS = {
    "Seconds": ("seconds", 1.0),
    "Milliseconds": ("seconds", 1e-3),
    "Microseconds": ("seconds", 1e-6),
    "Bytes": ("bytes", 1.0),
}


def metric_name(prefix: str, name: str, unit: str) -> str:
    """`ClusterHealthy` -> `kubevigil_cluster_healthy`; a time or bytes unit adds `_seconds`/`_bytes` unless present."""
    snake = _INVALID_METRIC.sub("_", _CAMEL.sub("_", name)).strip("_").lower()
    base = _BASE_UNITS.get(unit)
    if base and not snake.endswith(base[0]):
        snake = f"{snake}_{base[0]}"
    full = f"{prefix}{snake}" if snake else f"{prefix}unnamed"
    return f"_{full}" if full[0].isdigit() else full


def base_unit_value(value: float, unit: str) -> float:
    """`value` in the Prometheus base unit of `unit` (milliseconds become seconds)."""
    base = _BASE_UNITS.get(unit)
    return value * base[1] if base else value


def label_name(key: str) -> str:
    """A dimension key as a label name: invalid characters become `_`, no leading digit or `__`; camelCase becomes
    snake_case (`NodeName` -> `node_name`, as promtool wants), other keys keep their case (`Cluster`, `CLUSTER_ID`)."""
    label = _INVALID_LABEL.sub("_", key)
    if _HUMP.search(label):
        label = _CAMEL.sub("_", label).lower()
    label = label.lstrip("_") or "label"
    return f"_{label}" if label[0].isdigit() else label


def label_names(dimensions: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Dimensions as sorted (label, value) pairs; keys that sanitise to one name (`a.b`, `a_b`) get `_2`, `_3` …,
    since a series with a label twice is invalid and Prometheus would reject the whole scrape."""
    labels: dict[str, str] = {}
    for key, value in dimensions:
        name = label_name(key)
        unique, n = name, 1
        while unique in labels:
            n += 1
            unique = f"{name}_{n}"
        labels[unique] = value
    return tuple(sorted(labels.items()))
