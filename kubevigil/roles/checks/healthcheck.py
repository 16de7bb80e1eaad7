"""kubevigil's own `kubevigil.io/v1` HealthCheck spec: active-monitor's ideas, one runner per check, explicit RBAC."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from kubevigil.core.model import Model
from kubevigil.roles.checks.activemonitor import FileSource, PolicyRule, UrlSource
from kubevigil.roles.checks.durations import Duration
from kubevigil.roles.checks.probes import (
    PROBES,
    DnsProbe,
    HttpProbe,
    KubernetesProbe,
    ProbeSpec,
    PrometheusProbe,
    TcpProbe,
    TlsProbe,
)

GROUP = "kubevigil.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"


def _exactly_one(model: Model, names: tuple[str, ...], what: str) -> None:
    chosen = [n for n in names if getattr(model, n) is not None]
    if len(chosen) != 1:
        raise ValueError(f"{what} needs exactly one of {', '.join(names)}; got {', '.join(chosen) or 'none'}")


class Source(Model):
    """Where a Workflow comes from: exactly one of inline, url, file."""

    inline: str | None = Field(None, description="The Workflow YAML itself")
    url: UrlSource | None = None
    file: FileSource | None = None

    @model_validator(mode="after")
    def _one(self) -> Source:
        _exactly_one(self, ("inline", "url", "file"), "source")
        return self


class Rbac(Model):
    """The ServiceAccount a run's pod uses and what it may do; kubevigil creates and removes them."""

    level: Literal["cluster", "namespace"] = Field(
        "namespace", description="cluster: a ClusterRole and ClusterRoleBinding; namespace: a Role and RoleBinding")
    serviceAccount: str | None = Field(None, description="Name of the ServiceAccount (default: <check name>-check)")
    rules: list[PolicyRule] = Field(default_factory=list,
                                    description="What the run may do (default: get/list/watch on pods)")


class Schedule(Model):
    """When a check runs: exactly one of every, cron."""

    every: Duration | None = Field(None, description="Interval between runs, e.g. 30s, 5m or seconds")
    cron: str | None = Field(None, description="5-field cron, @hourly-style macro or '@every 1m'")

    @model_validator(mode="after")
    def _one(self) -> Schedule:
        _exactly_one(self, ("every", "cron"), "schedule")
        return self


class WorkflowRunner(Model):
    """Run an Argo Workflow and follow its phase."""

    source: Source
    namespace: str | None = Field(None, description="Namespace to submit in (default: the check's)")
    generateName: str | None = Field(None, description="Name prefix (default: <check name>-)")
    ttl: Duration | None = Field(None, description="Delete the finished Workflow after this long (default: config)")


class JobRunner(Model):
    """Run a batch/v1 Job from a pod template; the failed container's log tail goes into status."""

    template: dict[str, Any] = Field(description="A PodTemplateSpec (metadata, spec)")
    namespace: str | None = Field(None, description="Namespace to run in (default: the check's)")
    backoffLimit: int = Field(0, ge=0, description="Pod retries inside one run")
    ttl: Duration | None = Field(None, description="Delete the finished Job after this long (default: config)")


class KuberhealthyRunner(Model):
    """Run a kuberhealthy check image: its pod POSTs {"ok": …, "errors": […]} to KH_REPORTING_URL."""

    podSpec: dict[str, Any] = Field(description="The check pod's PodSpec (kuberhealthy's spec.podSpec)")
    extraAnnotations: dict[str, str] = Field(default_factory=dict,
                                             description="Annotations on the check pod (kuberhealthy's field)")
    extraLabels: dict[str, str] = Field(default_factory=dict, description="Labels on the check pod (kuberhealthy's)")
    namespace: str | None = Field(None, description="Namespace to run in (default: the check's)")
    ttl: Duration | None = Field(None, description="Delete the finished Job after this long (default: config)")


class RolloutRestart(Model):
    deployment: str = Field(description="Name of the Deployment (in the check's namespace) to restart")


class DeletePods(Model):
    selector: str = Field(description="Label selector of the pods (in the check's namespace) to delete")


class Scale(Model):
    kind: Literal["Deployment", "StatefulSet"] = "Deployment"
    name: str = Field(description="Name of the workload (in the check's namespace)")
    replicas: int = Field(ge=0, description="Replicas to set")


class Remedy(Model):
    """What to do when a run fails; each limit is honoured on its own, and a passing run resets them."""

    runsLimit: int | None = Field(None, ge=1, description="Remedy runs allowed until a pass or resetInterval")
    resetInterval: Duration | None = Field(None, description="Reset the runs count this long after the last remedy")
    cooldown: Duration | None = Field(None, description="Least time between two remedy runs")
    dryRun: bool = Field(False, description="Record what would be done, do nothing")
    workflow: WorkflowRunner | None = None
    job: JobRunner | None = None
    rolloutRestart: RolloutRestart | None = None
    deletePods: DeletePods | None = None
    scale: Scale | None = None
    rbac: Rbac | None = Field(None, description="ServiceAccount and rules for a workflow or job remedy")

    @model_validator(mode="after")
    def _one(self) -> Remedy:
        _exactly_one(self, ACTIONS, "remedy")
        return self


ACTIONS = ("workflow", "job", "rolloutRestart", "deletePods", "scale")


class Probe(Model):
    """Exactly one built-in probe, run in kubevigil without a pod (its params as docs/checks.md describes)."""

    http: HttpProbe | None = None
    tcp: TcpProbe | None = None
    dns: DnsProbe | None = None
    tls: TlsProbe | None = None
    kubernetes: KubernetesProbe | None = None
    prometheus: PrometheusProbe | None = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in PROBES)
            if unknown:
                raise ValueError(f"unknown probe {unknown[0]!r}; one of {', '.join(sorted(PROBES))}")
        return data

    @model_validator(mode="after")
    def _one(self) -> Probe:
        _exactly_one(self, tuple(PROBES), "probe")
        return self

    def chosen(self) -> tuple[str, ProbeSpec]:
        """The probe's name and its params."""
        name = next(n for n in PROBES if getattr(self, n) is not None)
        spec: ProbeSpec = getattr(self, name)
        return name, spec


class HealthCheckSpec(Model):
    """One check: a schedule, exactly one runner (probe, workflow, job, kuberhealthy), optional remedy."""

    schedule: Schedule
    suspend: bool = Field(False, description="Do not start new runs")
    timeout: Duration | None = Field(None, description="Deadline of one run (default: the interval, at most config)")
    historyLimit: int = Field(10, ge=0, le=100, description="Runs kept in status.history")
    probe: Probe | None = Field(None, description="A built-in probe run in kubevigil, without a pod: exactly one "
                                                "of http, tcp, dns, tls, kubernetes, prometheus")
    workflow: WorkflowRunner | None = None
    job: JobRunner | None = None
    kuberhealthy: KuberhealthyRunner | None = None
    rbac: Rbac | None = Field(None, description="ServiceAccount and rules for a workflow, job or kuberhealthy run")
    remedy: Remedy | None = None

    @model_validator(mode="after")
    def _one(self) -> HealthCheckSpec:
        _exactly_one(self, RUNNERS, "a HealthCheck")
        return self


RUNNERS = ("probe", "workflow", "job", "kuberhealthy")
