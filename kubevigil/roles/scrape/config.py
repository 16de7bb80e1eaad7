"""The `scrape:` section: which pods to scrape, how to fold their metrics into cluster values, and where they go."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kubevigil.core.model import Model, Section, SinkRef
from kubevigil.roles.scrape.rules import Rule

INSTANT: frozenset[str] = frozenset({"sum", "max", "min", "avg"})  # a value at the scrape, not an increase

_DIMENSION = re.compile(r"^[^:]{1,255}$")


class Completeness(Model):
    """What happens to a cycle in which fewer pods answered than were expected."""

    min: float = Field(1.0, gt=0, le=1, description="Fraction of expected pods that must answer for a full cycle")
    below: Literal["mark", "withhold"] = Field(
        "mark",
        description="mark: publish instant values (sum/max/min/avg) with the partial dimension; withhold: do not "
        "publish them. Increases (delta/mean) are always published: a pod that missed a cycle adds its "
        "increase in the next one",
    )
    dimension: str = Field("Partial", min_length=1, max_length=255, description="Dimension name of the marker")


class Breakdown(Model):
    """Also publish each rule per node or per subnet (the node's address masked), bounded."""

    by: Literal["node", "subnet"] = Field(description="node: the pod's spec.nodeName; subnet: hostIP/prefix_length")
    dimension: str | None = Field(None, min_length=1, max_length=255,
                                  description="Dimension name (default NodeName or Subnet)")
    prefix_length: int = Field(24, ge=8, le=128, description="subnet: bits of the node address that name its subnet")
    max_values: int = Field(100, ge=1, le=1000, description="At most this many values; later ones go to `_other`")
    rules: tuple[str, ...] | None = Field(None, description="Rule names to break down (default: all)")

    @property
    def dimension_name(self) -> str:
        return self.dimension or ("NodeName" if self.by == "node" else "Subnet")


class Job(Model):
    """One kind of pod to scrape: where to find them, how to reach them, and what to take from them."""

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                      description="Job name (the `Job` dimension of completeness metrics, label of kubevigil's own)")
    namespace: str = Field("kube-system", min_length=1, description="Namespace of the pods")
    selector: str = Field("k8s-app=aws-node", min_length=1, description="Label selector of the pods")
    port: int = Field(61678, ge=1, le=65535, description="Port of the metrics endpoint (plain HTTP)")
    path: str = Field("/metrics", pattern=r"^/", description="Path of the metrics endpoint")
    via: Literal["direct", "proxy"] = Field(
        "direct",
        description="direct: connect to the pod IP; proxy: through the API server's pods/proxy (where only the "
        "control plane may reach the port; needs `pods/proxy` get)",
    )
    interval: float = Field(30.0, ge=1, description="Seconds between cycles")
    timeout: float = Field(10.0, gt=0, description="Seconds one pod may take to answer")
    concurrency: int = Field(50, ge=1, le=1000, description="Pods scraped at once")
    max_bytes: int = Field(10_000_000, ge=1024, description="Largest response accepted from one pod")
    rules: Literal["cni-metrics-helper"] | list[Rule] = Field(
        "cni-metrics-helper", description="`cni-metrics-helper` (its metric set and names) or a list of rules"
    )
    completeness: Completeness = Field(default_factory=lambda: Completeness.model_validate({}))
    breakdown: Breakdown | None = Field(None, description="Optional per-node or per-subnet series")

    @field_validator("selector")
    @classmethod
    def _selector(cls, v: str) -> str:
        from kubevigil.kube.selectors import checked_selector

        return checked_selector(v)

    @model_validator(mode="after")
    def _coherent(self) -> Job:
        if self.timeout >= self.interval:
            raise ValueError(f"timeout ({self.timeout:g} s) must be shorter than interval ({self.interval:g} s)")
        rules = self.rule_list()
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rules publish {dupes} twice; give them distinct names")
        if self.breakdown is not None and self.breakdown.rules is not None:
            unknown = sorted(set(self.breakdown.rules) - set(names))
            if unknown:
                raise ValueError(f"breakdown.rules names {unknown}, which no rule publishes")
        return self

    def rule_list(self) -> list[Rule]:
        if isinstance(self.rules, list):
            return self.rules
        from kubevigil.roles.scrape.presets import CNI_METRICS_HELPER

        return list(CNI_METRICS_HELPER)


class ImdsParams(Model):
    """The EC2 instance metadata service (IMDSv2), asked for the cluster id when none is configured."""

    endpoint: str = Field("http://169.254.169.254", pattern=r"^https?://",
                          description="IMDS base URL (AWS_EC2_METADATA_SERVICE_ENDPOINT)")
    timeout: float = Field(2.0, gt=0, le=30, description="Seconds per IMDS or EC2 request")
    enabled: bool = Field(True, description="false: never ask IMDS (AWS_EC2_METADATA_DISABLED=true)")


class ScrapeSection(Section):
    """The `scrape` role: pods' Prometheus metrics, aggregated to cluster level (cni-metrics-helper)."""

    jobs: list[Job] = Field(
        default_factory=lambda: [Job.model_validate({"name": "aws-node"})],
        min_length=1, description="What to scrape (default: the aws-node DaemonSet's ipamd, as cni-metrics-helper)",
    )
    sinks: list[str] = Field(default_factory=list, description="Metric sinks that get each cycle's values")
    prometheus_sinks: list[str] = Field(
        default_factory=list,
        description="prometheus sinks that get cluster gauges and, for delta rules, running cluster counters, "
        "named by the exporter's metric names",
    )
    cluster_id: str | None = Field(
        None, min_length=1, max_length=1024,
        description="Value of the cluster dimension; default AWS_CLUSTER_ID, then the EC2 instance's tags "
        "eks:cluster-name, CLUSTER_ID, Name (IMDSv2)",
    )
    cluster_dimension: str = Field("CLUSTER_ID", min_length=1, max_length=255, description="Cluster dimension name")
    job_dimension: str = Field("Job", min_length=1, max_length=255,
                               description="Dimension naming the job on the completeness metrics")
    imds: ImdsParams = Field(default_factory=lambda: ImdsParams.model_validate({}))

    @model_validator(mode="after")
    def _coherent(self) -> ScrapeSection:
        if not self.sinks and not self.prometheus_sinks:
            raise ValueError("`sinks` and `prometheus_sinks` are both empty: name at least one metric sink")
        names = [j.name for j in self.jobs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"jobs {dupes} appear twice; give them distinct names")
        if self.prometheus_sinks:
            exposed = [r.exposed_name for j in self.jobs for r in j.rule_list()]
            clash = sorted({n for n in exposed if exposed.count(n) > 1})
            if clash:
                raise ValueError(f"rules expose {clash} twice on prometheus_sinks; set distinct `prometheus_name`s")
        for dim in (self.cluster_dimension, self.job_dimension):
            if not _DIMENSION.match(dim):
                raise ValueError(f"dimension name {dim!r}: 1-255 characters, no ':'")
        return self

    def sink_refs(self) -> Iterable[SinkRef]:
        for i, name in enumerate(self.sinks):
            yield ("sinks", i), name, "metric"
        for i, name in enumerate(self.prometheus_sinks):
            yield ("prometheus_sinks", i), name, "metric"
