"""The `status:` section: what to watch, how to judge it, and where the heartbeat goes."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kubevigil.core.model import Model, Section, SinkRef
from kubevigil.core.signals import Unit

KINDS = (
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Node", "PersistentVolumeClaim",
)
Kind = Literal[
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Node", "PersistentVolumeClaim",
]
CLUSTER_SCOPED = frozenset({"Node"})


class AtLeast(Model):
    """At least N replicas (or matched objects) healthy."""

    AtLeast: int = Field(ge=1, description="Minimum number of ready replicas / healthy objects")


class Percent(Model):
    """At least P percent of the desired replicas (or matched objects) healthy, rounded up."""

    Percent: float = Field(gt=0, le=100, description="Minimum percentage of ready replicas / healthy objects")


Mode = Literal["AllOfThem", "AtLeastOne"] | AtLeast | Percent


def required_count(mode: Mode, desired: int) -> int:
    """How many of `desired` must be healthy under `mode`."""
    if mode == "AllOfThem":
        return desired
    if mode == "AtLeastOne":
        return 1
    if isinstance(mode, AtLeast):
        return mode.AtLeast
    assert isinstance(mode, Percent)
    return math.ceil(desired * mode.Percent / 100 - 1e-9)


def mode_text(mode: Mode) -> str:
    if isinstance(mode, AtLeast):
        return f"AtLeast {mode.AtLeast}"
    if isinstance(mode, Percent):
        return f"Percent {mode.Percent:g}"
    return mode


def _check_selector(value: str | None, where: str) -> str | None:
    from kubevigil.kube.selectors import checked_selector

    if value is None:
        return None
    try:
        return checked_selector(value)
    except ValueError as exc:
        raise ValueError(f"{where} {exc}") from None


class Target(Model):
    """One thing to watch: a named object, or every object a label and/or namespace selector matches."""

    kind: Kind = Field(description="Kind of object: " + ", ".join(KINDS))
    name: str | None = Field(None, min_length=1, description="Object name (with `namespace`, the original's form)")
    namespace: str | None = Field(
        None, min_length=1, description="Namespace of the object(s); omit with a selector for all namespaces"
    )
    selector: str | None = Field(None, min_length=1, description="Label selector, e.g. 'app=web,tier in (a,b)'")
    namespace_selector: str | None = Field(
        None, min_length=1, description="Label selector on Namespaces; objects in matching namespaces are included"
    )
    mode: Mode = Field(
        "AllOfThem",
        description="AllOfThem, AtLeastOne, {AtLeast: N} or {Percent: P}: of replicas for workloads, "
        "of matched objects for Pod, Node, PersistentVolumeClaim, Job, CronJob",
    )
    during_rollout: Literal["healthy", "unhealthy"] = Field(
        "healthy", description="How a rollout in progress (state `progressing`) counts"
    )
    max_age: float | None = Field(
        None, gt=0,
        description="CronJob only: seconds the last success may be old; default twice the schedule's period",
    )
    id: str | None = Field(
        None, min_length=1, max_length=255,
        description="Value of the `target` dimension and key in /status; default kind/namespace/name-or-selector",
    )

    @field_validator("selector")
    @classmethod
    def _selector_ok(cls, v: str | None) -> str | None:
        return _check_selector(v, "selector")

    @field_validator("namespace_selector")
    @classmethod
    def _ns_selector_ok(cls, v: str | None) -> str | None:
        return _check_selector(v, "namespace_selector")

    @model_validator(mode="after")
    def _shape(self) -> Target:
        cluster_scoped = self.kind in CLUSTER_SCOPED
        if self.name is None and self.selector is None and self.namespace_selector is None and not cluster_scoped:
            raise ValueError("a target needs `name` (with `namespace`), `selector` or `namespace_selector`")
        if self.name is not None and (self.selector is not None or self.namespace_selector is not None):
            raise ValueError("`name` picks one object; it cannot be combined with `selector` or `namespace_selector`")
        if self.name is not None and self.namespace is None and not cluster_scoped:
            raise ValueError(f"a named {self.kind} needs `namespace`")
        if cluster_scoped and (self.namespace is not None or self.namespace_selector is not None):
            raise ValueError(f"{self.kind} is cluster-scoped: remove `namespace` / `namespace_selector`")
        if self.namespace is not None and self.namespace_selector is not None:
            raise ValueError("use either `namespace` or `namespace_selector`, not both")
        if self.max_age is not None and self.kind != "CronJob":
            raise ValueError("`max_age` applies to CronJob targets only")
        return self

    @property
    def key(self) -> str:
        """The target's id: the configured one, else derived from what it selects."""
        if self.id:
            return self.id
        where = self.namespace or (f"ns:{self.namespace_selector}" if self.namespace_selector else "*")
        what = self.name or self.selector or "*"
        return f"{self.kind}/{what}" if self.kind in CLUSTER_SCOPED else f"{self.kind}/{where}/{what}"


class MetricSpec(Model):
    """The heartbeat metric: 1 healthy, 0 not; missing means kubevigil itself is down."""

    name: str = Field(min_length=1, max_length=255, description="Metric name (CloudWatch MetricName)")
    unit: Unit = Field("None", description="CloudWatch unit")
    dimensions: dict[str, str] = Field(default_factory=dict, description="Extra dimensions, name: value")
    cluster_dimension: str | None = Field(
        "Cluster", min_length=1, description="Dimension that carries cluster.name; null to leave it out"
    )
    target_dimension: str = Field("target", min_length=1, description="Dimension name of per-target values")

    @field_validator("dimensions")
    @classmethod
    def _dimensions_ok(cls, v: dict[str, str]) -> dict[str, str]:
        # CloudWatch allows 30 dimensions; keep room for the cluster and target ones.
        if len(v) > 28:
            raise ValueError(f"{len(v)} dimensions; CloudWatch allows 30 including Cluster and target")
        for k, val in v.items():
            if not k or not val or len(k) > 255 or len(val) > 1024:
                raise ValueError(f"dimension {k!r}: names need 1-255 characters, values 1-1024")
        return v


class StatusSection(Section):
    """The `status` role: a heartbeat that is 1 when every target is healthy."""

    targets: list[Target] = Field(min_length=1, description="What to watch")
    metric: MetricSpec = Field(description="The heartbeat metric")
    seconds: float = Field(60, gt=0, description="Publish interval in seconds (first value at start)")
    publish_on_change: bool = Field(False, description="Also publish as soon as the value changes")
    per_target: bool = Field(False, description="Also publish one value per target with the `target` dimension")
    sinks: list[str] = Field(default_factory=list, description="Names of metric sinks that receive the heartbeat")
    sync_timeout: float | None = Field(
        None, gt=0,
        description="Seconds to wait for the first full view of the cluster before publishing 0; default `seconds`",
    )
    stale_after_seconds: float | None = Field(
        None, ge=1, le=86400,
        description="A view of the cluster not confirmed by the API server for this long is stale: values derived "
        "from it are never published as healthy, and /readyz fails; default 3 x `seconds`, between 30 and 600",
    )
    when_stale: Literal["skip", "zero"] = Field(
        "skip",
        description="What to publish instead of a healthy value derived from a stale view: nothing (`skip`, so a "
        "CloudWatch alarm treating missing data as breaching fires) or 0 (`zero`)",
    )

    @field_validator("seconds", mode="before")
    @classmethod
    def _seconds_positive(cls, v: object) -> object:
        if isinstance(v, int | float) and not isinstance(v, bool) and v <= 0:
            raise ValueError(f"must be greater than 0 (got {v}): the interval between two published values")
        return v

    @model_validator(mode="before")
    @classmethod
    def _no_dry_run(cls, data: Any) -> Any:
        if isinstance(data, dict) and "dry_run" in data:
            raise ValueError("`dry_run` is gone: a dry run is a `stdout` sink, which prints each heartbeat as a JSON "
                             "line and publishes nothing (sinks: {dry_run: {stdout: {}}} and status.sinks: [dry_run])")
        return data

    @model_validator(mode="after")
    def _coherent(self) -> StatusSection:
        if not self.sinks:
            raise ValueError("`sinks` is empty: name at least one metric sink (a `stdout` sink prints the heartbeat "
                             "and publishes nothing)")
        dupes = sorted(key for key, n in Counter(t.key for t in self.targets).items() if n > 1)
        if dupes:
            raise ValueError(f"targets {dupes} appear twice; give them distinct `id`s")
        return self

    @property
    def stale_after(self) -> float:
        """`stale_after_seconds`, or its default: three intervals, at least 30 s and at most 10 minutes."""
        if self.stale_after_seconds is not None:
            return self.stale_after_seconds
        return min(600.0, max(30.0, 3 * self.seconds))

    def sink_refs(self) -> Iterable[SinkRef]:
        for i, name in enumerate(self.sinks):
            yield ("sinks", i), name, "metric"
