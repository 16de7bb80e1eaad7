"""CloudWatch metric sink: PutMetricData with explicit timestamps, at most 1000 datums / 1 MB per call.

botocore gzips PutMetricData bodies over 10 KiB by itself (the operation declares `requestcompression: gzip`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kubevigil.core.signals import Metric
from kubevigil.sinks.aws import call, make_client
from kubevigil.sinks.cloudwatch.params import Params
from kubevigil.sinks.payloads import chunks
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, Sink, SinkContext, SinkError, no_ack

MAX_DATUMS = 1000
MAX_BYTES = 1_000_000  # CloudWatch's 1 MB request limit, measured on the uncompressed body
MAX_DIMENSIONS = 30
MAX_AGE = 14 * 86400  # CloudWatch drops datapoints older than two weeks
MAX_AHEAD = 2 * 3600  # ... and more than two hours in the future
MAX_VALUE = 1.174271e108
# Per-datum request overhead on top of names and values: keys, quotes, timestamp, unit, resolution.
DATUM_OVERHEAD = 160
DIMENSION_OVERHEAD = 32


def datum_size(m: Metric) -> int:
    """Upper bound of the bytes one datum adds to the request body."""
    dims = sum(len(k) + len(v) + DIMENSION_OVERHEAD for k, v in m.dimensions)
    return DATUM_OVERHEAD + len(m.name) + len(m.unit) + dims


def invalid(m: Metric, now: float) -> str | None:
    """Why CloudWatch would reject this datum (and with it the whole call), or None."""
    if not math.isfinite(m.value) or abs(m.value) > MAX_VALUE:
        return f"value {m.value!r} is not a number CloudWatch accepts"
    if len(m.dimensions) > MAX_DIMENSIONS:
        return f"{len(m.dimensions)} dimensions; CloudWatch allows {MAX_DIMENSIONS}"
    if any(not k or not v for k, v in m.dimensions):
        return "empty dimension name or value"
    if m.timestamp < now - MAX_AGE:
        return "timestamp older than 14 days"
    if m.timestamp > now + MAX_AHEAD:
        return "timestamp more than 2 hours in the future"
    return None


class CloudWatchSink(Sink[Metric]):
    kinds = frozenset({"metric"})
    limits = BatchLimits(max_items=MAX_DATUMS, max_bytes=MAX_BYTES)

    def __init__(self, params: Params, ctx: SinkContext) -> None:
        self.params = params
        self.namespace = params.namespace
        self.client: Any = make_client("cloudwatch", params)

    def datum(self, m: Metric) -> dict[str, Any]:
        return {
            "MetricName": m.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in m.dimensions],
            "Timestamp": datetime.fromtimestamp(m.timestamp, UTC),
            "Value": float(m.value),
            "Unit": m.unit,
            "StorageResolution": self.params.storage_resolution,
        }

    async def send(self, batch: Sequence[Metric], ack: Ack = no_ack) -> list[ItemFailure]:
        now = datetime.now(UTC).timestamp()
        failures: list[ItemFailure] = []
        good: list[tuple[int, Metric]] = []
        for i, m in enumerate(batch):
            why = invalid(m, now)
            if why:
                failures.append(ItemFailure(i, why, retryable=False))
            else:
                good.append((i, m))
        runs = list(chunks(good, MAX_DATUMS, MAX_BYTES, lambda item: datum_size(item[1])))
        for n, run in enumerate(runs):
            try:
                await call(self.client.put_metric_data, Namespace=self.namespace,
                           MetricData=[self.datum(m) for _, m in run])
            except SinkError as exc:
                if n == 0 and not failures:
                    raise
                # Earlier runs arrived: fail only what is left, so a retry does not double-count.
                rest = [item for later in runs[n:] for item in later]
                failures += [ItemFailure(i, str(exc), retryable=exc.retryable) for i, _ in rest]
                break
            await ack([i for i, _ in run])
        return failures

    async def close(self) -> None:
        self.client.close()
