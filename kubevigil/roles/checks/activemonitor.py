"""active-monitor's `activemonitor.keikoproj.io/v1alpha1` HealthCheck spec, accepted as its users wrote it.

Field names and types follow active-monitor's CRD. Unknown keys are kept by the CRD (as a lenient API server would
let them through) and ignored here with a warning in the check's status, so every upstream example applies unchanged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GROUP = "activemonitor.keikoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class Lenient(BaseModel):
    """Unknown keys are ignored (and reported by `unknown_keys`), never an error: upstream files apply unchanged."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class PolicyRule(Lenient):
    """A Kubernetes RBAC PolicyRule, as in rbac.authorization.k8s.io/v1."""

    apiGroups: list[str] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list)
    verbs: list[str] = Field(description="Verbs the rule allows")
    resourceNames: list[str] = Field(default_factory=list)
    nonResourceURLs: list[str] = Field(default_factory=list)


class UrlSource(Lenient):
    path: str = Field(description="http(s) URL of the Workflow YAML")
    verifyCert: bool | None = Field(None, description="Verify the server's TLS certificate (default true)")


class FileSource(Lenient):
    path: str = Field(description="Path of the Workflow YAML on kubevigil's own filesystem")


class Source(Lenient):
    """Where the Workflow comes from: exactly one of inline, url, file."""

    inline: str | None = Field(None, description="The Workflow YAML itself")
    url: UrlSource | None = None
    file: FileSource | None = None


class Resource(Lenient):
    namespace: str = Field(description="Namespace the Workflow is submitted in")
    serviceAccount: str | None = Field(None, description="ServiceAccount the Workflow runs as (created if missing)")
    source: Source


class Workflow(Lenient):
    generateName: str | None = Field(None, description="Name prefix of the submitted Workflows")
    resource: Resource | None = None
    workflowtimeout: int | None = Field(None, description="Seconds a run may take (default repeatAfterSec)")
    rbacRules: list[PolicyRule] = Field(default_factory=list, description="Rules for the run's ServiceAccount")


class Schedule(Lenient):
    cron: str | None = Field(None, description="5-field cron, @hourly-style macro or '@every 1m'")


class HealthCheckSpec(Lenient):
    """Either repeatAfterSec or schedule.cron must be set for the check to run."""

    repeatAfterSec: int | None = Field(None, description="Seconds between runs")
    schedule: Schedule | None = None
    level: Literal["cluster", "namespace"] | None = Field(
        None, description="cluster: ClusterRole for the run's ServiceAccount; namespace: a Role in its namespace")
    backoffFactor: str | None = Field(None, description="Retry backoff factor when a run cannot be started")
    backoffMin: int | None = Field(None, description="Minimum retry delay in seconds when a run cannot be started")
    backoffMax: int | None = Field(None, description="Maximum retry delay in seconds when a run cannot be started")
    remedyRunsLimit: int | None = Field(None, description="Remedy runs allowed before it stops (until reset)")
    remedyResetInterval: int | None = Field(None, description="Seconds after the last remedy when the limit resets")
    workflow: Workflow | None = Field(None, description="The health check Workflow (required to run)")
    remedyworkflow: Workflow | None = None


def unknown_keys(model: BaseModel, path: str = "spec") -> list[str]:
    """Dotted paths of every key a Lenient model ignored, e.g. spec.workflow.windowtimeout."""
    found = [f"{path}.{key}" for key in (model.model_extra or {})]
    for name, value in model:
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, BaseModel):
                where = f"{path}.{name}" if not isinstance(value, list) else f"{path}.{name}[{i}]"
                found += unknown_keys(item, where)
    return found
