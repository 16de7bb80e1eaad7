"""What a CloudWatch dashboard body names, and whether CloudWatch (moto) holds it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s*(.*?)',\s*'(\w+)',\s*(\d+)\)")
_TERM = re.compile(r'("[^"]+"|[\w/]+)="([^"]*)"')


@dataclass(frozen=True)
class Named:
    """A metric a widget names: exactly these dimension names, and these values for some of them."""

    namespace: str
    name: str
    dimensions: frozenset[str]
    values: tuple[tuple[str, str], ...]

    def matches(self, listed: dict[str, Any]) -> bool:
        dims = {d["Name"]: d["Value"] for d in listed.get("Dimensions", [])}
        return (listed["Namespace"] == self.namespace and listed["MetricName"] == self.name
                and set(dims) == self.dimensions and all(dims.get(k) == v for k, v in self.values))


def named_metrics(body: dict[str, Any]) -> Iterator[Named]:
    """Every metric of every metric widget: explicit ones and those of SEARCH expressions."""
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for entry in widget["properties"]["metrics"]:
            if isinstance(entry[0], dict):
                yield from _searched(entry[0]["expression"])
                continue
            flat = [e for e in entry if not isinstance(e, dict)]
            pairs = tuple(zip(flat[2::2], flat[3::2], strict=True))
            yield Named(flat[0], flat[1], frozenset(k for k, _ in pairs), pairs)


def _searched(expression: str) -> Iterator[Named]:
    found = _SEARCH.findall(expression)
    assert found, f"an expression without a SEARCH: {expression}"
    for schema, terms, _stat, _period in found:
        namespace, *dims = [part.strip().strip('"') for part in schema.split(",")]
        pairs = [(k.strip('"'), v) for k, v in _TERM.findall(terms)]
        (name,) = [v for k, v in pairs if k == "MetricName"]
        yield Named(namespace, name, frozenset(dims), tuple((k, v) for k, v in pairs if k != "MetricName"))


def list_metrics(cloudwatch: Any, namespace: str) -> list[dict[str, Any]]:
    """Every metric CloudWatch holds in `namespace` (all pages)."""
    return [m for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace)
            for m in page["Metrics"]]


def unpublished(body: dict[str, Any], listed: list[dict[str, Any]]) -> list[Named]:
    """The named metrics that nothing in `listed` matches."""
    return [n for n in named_metrics(body) if not any(n.matches(m) for m in listed)]
