"""The `checks:` section: which namespaces, limits, where results go, and how run pods reach kubevigil."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import Field, field_validator

from kubevigil.core.model import Model, SecretKeyRef, Section, SinkRef
from kubevigil.roles.checks.durations import Duration


class ResultSinks(Model):
    records: list[str] = Field(default_factory=list, description="Sinks that get one Record per run (SNS, Slack …)")
    metrics: list[str] = Field(default_factory=list, description="Sinks that get one Metric per run (CloudWatch …)")


# What the `kubernetes` probe may read by default: the state SREs check (workloads, pods, nodes, storage claims,
# other checks), none of it meant to hold credentials. ConfigMaps are left out (they often carry connection strings)
# and Secrets can never be added: a probe's message shows the values it compared.
DEFAULT_PROBE_RESOURCES = (
    "pods", "services", "endpoints", "nodes", "namespaces", "persistentvolumeclaims", "persistentvolumes",
    "deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps", "jobs.batch", "cronjobs.batch",
    "poddisruptionbudgets.policy", "horizontalpodautoscalers.autoscaling", "ingresses.networking.k8s.io",
    "endpointslices.discovery.k8s.io", "healthchecks.kubevigil.io", "healthchecks.activemonitor.keikoproj.io",
)
_RESOURCE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class ProbeAccess(Model):
    """What built-in probes may read with kubevigil's own credentials; kubevigil's ClusterRole grows with it."""

    secrets: bool = Field(False, description="Probes may take header values from Secrets in their HealthCheck's "
                                             "own namespace (adds `get` on secrets to kubevigil's ClusterRole)")
    resources: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PROBE_RESOURCES),
        description="What the kubernetes probe may read, as kubectl names resources (pods, deployments.apps, "
                    "workflows.argoproj.io); adds get and list on each to kubevigil's ClusterRole")

    @field_validator("resources")
    @classmethod
    def _resources_valid(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _RESOURCE.match(name):
                raise ValueError(f"{name!r} is not a resource as kubectl names it (plural[.group], lower case, "
                                 "no wildcard or subresource)")
            if name.partition(".")[0] == "secrets" and name.partition(".")[2] in ("", "core"):
                raise ValueError("secrets cannot be read by the kubernetes probe (its messages show the values "
                                 "it compares); use checks.probes.secrets for header values")
        return value


class ChecksSection(Section):
    """Runs HealthCheck objects of both kinds (activemonitor.keikoproj.io/v1alpha1 and kubevigil.io/v1)."""

    namespaces: list[str] = Field(default_factory=list, description="Namespaces to watch (default: all)")
    sinks: ResultSinks = Field(default_factory=lambda: ResultSinks.model_validate({}))
    workers: int = Field(64, ge=1, le=1024, description="Checks reconciled at once (a probe runs inside its worker); "
                                                    "about runs per second x seconds per run")
    max_timeout: Duration = Field(300.0, gt=0, description="Deadline of a run whose spec sets none (at most this)")
    run_ttl: Duration = Field(3600.0, ge=0, description="Finished Workflows and Jobs are deleted after this long")
    jitter: float = Field(0.1, ge=0, le=1, description="Per-check start offset, as a fraction of its interval")
    max_jitter: Duration = Field(30.0, ge=0, description="Upper bound of the per-check offset")
    reporting_url: str | None = Field(
        None, description="KH_REPORTING_URL given to kuberhealthy check pods (default: "
                          "http://kubevigil.<kubevigil's namespace>.svc:8080/check)")
    api_token: SecretKeyRef | None = Field(None, description="Bearer token for POST /api/checks/<ns>/<name>/run; "
                                                         "without it that call is refused")
    custom_metrics_limit: int = Field(500, ge=0, description="Most custom metric series kept (the rest dropped)")
    log_tail_lines: int = Field(20, ge=0, le=1000, description="Lines of a failed container's log kept in status")
    probes: ProbeAccess = Field(default_factory=lambda: ProbeAccess.model_validate({}),
                                description="What built-in probes may read with kubevigil's credentials")

    def sink_refs(self) -> Iterable[SinkRef]:
        for i, name in enumerate(self.sinks.records):
            yield ("sinks", "records", i), name, "record"
        for i, name in enumerate(self.sinks.metrics):
            yield ("sinks", "metrics", i), name, "metric"
