"""EMF sink: one JSON line per (timestamp, dimension set), in CloudWatch Embedded Metric Format."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import orjson

from kubevigil.core.signals import Metric
from kubevigil.sinks.emf.params import Params
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, PermanentError, Sink, SinkContext, no_ack

MAX_METRICS = 100  # per EMF document
MAX_DIMENSIONS = 30


def document(namespace: str, resolution: int, group: Sequence[Metric]) -> dict[str, Any]:
    """One EMF document for metrics sharing a timestamp and a dimension set."""
    dims = dict(group[0].dimensions)
    doc: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(group[0].timestamp * 1000),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [list(dims)],
                "Metrics": [{"Name": m.name, "Unit": m.unit, "StorageResolution": resolution} for m in group],
            }],
        },
        **dims,
    }
    for m in group:
        doc[m.name] = m.value
    return doc


def groups(items: Sequence[Metric]) -> list[list[Metric]]:
    """Metrics grouped by (timestamp, dimensions); a metric name appears once per document."""
    out: dict[tuple[float, tuple[tuple[str, str], ...]], list[list[Metric]]] = {}
    for m in items:
        docs = out.setdefault((m.timestamp, m.dimensions), [[]])
        if len(docs[-1]) == MAX_METRICS or any(x.name == m.name for x in docs[-1]):
            docs.append([])
        docs[-1].append(m)
    return [g for docs in out.values() for g in docs]


class EmfSink(Sink[Metric]):
    kinds = frozenset({"metric"})
    limits = BatchLimits(max_items=1000, max_bytes=1_000_000, max_age=0.2)

    def __init__(self, params: Params, ctx: SinkContext, out: TextIO | None = None) -> None:
        self.params = params
        self.out = out or (sys.stdout if params.stream == "stdout" else sys.stderr)

    async def send(self, batch: Sequence[Metric], ack: Ack = no_ack) -> list[ItemFailure]:
        failures: list[ItemFailure] = []
        good: list[Metric] = []
        for i, m in enumerate(batch):
            dims = dict(m.dimensions)
            if not math.isfinite(m.value) or len(m.dimensions) > MAX_DIMENSIONS or m.name in dims or m.name == "_aws":
                failures.append(ItemFailure(i, "not expressible in EMF (value, dimension count or name clash)", False))
            else:
                good.append(m)
        lines = [orjson.dumps(document(self.params.namespace, self.params.storage_resolution, g)).decode() + "\n"
                 for g in groups(good)]
        try:
            # One write per line so a line is never interleaved with another writer's output.
            for line in lines:
                self.out.write(line)
            self.out.flush()
        except (OSError, ValueError) as exc:
            raise PermanentError(f"cannot write to {self.params.stream}: {exc}") from exc
        return failures
