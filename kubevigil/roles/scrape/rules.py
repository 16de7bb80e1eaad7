"""A rule: which scraped metric family becomes which published metric, and how pods' values are folded."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kubevigil.core.model import Model
from kubevigil.core.signals import Unit

Aggregate = Literal["sum", "max", "min", "avg", "delta", "mean"]

_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class Rule(Model):
    """One exported metric: which scraped family it reads and how pods' values become one cluster value."""

    metric: str = Field(description="Metric family in the scrape, e.g. awscni_total_ip_addresses")
    name: str = Field(min_length=1, max_length=255, description="Published metric name (CloudWatch MetricName)")
    aggregate: Aggregate = Field(
        "sum",
        description="sum | max | min (over every series of every pod) | avg (mean of per-pod sums) | "
        "delta (sum of per-pod counter increases since the last cycle) | mean (summary/histogram: "
        "increase of _sum / increase of _count)",
    )
    quantile: float | None = Field(
        None, ge=0, le=1, description="Summaries: use this quantile's value (with aggregate max or min)"
    )
    unit: Unit = Field("Count", description="CloudWatch unit of the published value")
    match: dict[str, str] = Field(default_factory=dict, description="Only series with exactly these label values")
    group_by: tuple[str, ...] = Field((), description="Labels whose values each get their own series (dimensions)")
    max_groups: int = Field(
        50, ge=1, le=1000, description="At most this many label-value groups; later ones are summed into `_other`"
    )
    prometheus_name: str | None = Field(
        None, description="Name on `prometheus_sinks` (default: `metric`, the exporter's own name)"
    )
    prometheus_unit: Unit | None = Field(
        None, description="Unit of the value on `prometheus_sinks` when it differs from `unit` (default: `unit`); "
        "the prometheus sink exposes times in seconds, so Milliseconds become seconds and the name gets `_seconds`",
    )

    @field_validator("metric")
    @classmethod
    def _metric_name(cls, v: str) -> str:
        if not _METRIC.match(v):
            raise ValueError(f"{v!r} is not a Prometheus metric name")
        return v

    @field_validator("prometheus_name")
    @classmethod
    def _prometheus_name(cls, v: str | None) -> str | None:
        if v is not None and not _METRIC.match(v):
            raise ValueError(f"{v!r} is not a Prometheus metric name")
        return v

    @field_validator("group_by")
    @classmethod
    def _labels(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [label for label in v if not _LABEL.match(label)]
        if bad:
            raise ValueError(f"{bad} are not Prometheus label names")
        if len(set(v)) != len(v):
            raise ValueError("a label appears twice")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        if self.quantile is not None and self.aggregate not in ("max", "min"):
            raise ValueError(f"`quantile` needs aggregate max or min (the {self.aggregate} of quantiles means nothing)")
        if "quantile" in self.group_by or "le" in self.group_by:
            raise ValueError("group_by cannot use `quantile` or `le`: they are part of one series, not a group")
        return self

    @property
    def exposed_name(self) -> str:
        return self.prometheus_name or self.metric

    @property
    def exposed_unit(self) -> str:
        return self.prometheus_unit or self.unit
