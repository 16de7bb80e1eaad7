"""The `checks:` section: which namespaces, limits, where results go, and how run pods reach kubevigil."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from kubevigil.core.model import Model, Section, SinkRef
from kubevigil.roles.checks.durations import Duration


class ResultSinks(Model):
    records: list[str] = Field(default_factory=list, description="Sinks that get one Record per run (SNS, Slack …)")
    metrics: list[str] = Field(default_factory=list, description="Sinks that get one Metric per run (CloudWatch …)")


class ApiToken(Model):
    """The Secret whose key holds the bearer token for POST /api/checks/… (reads stay open)."""

    secret: str = Field(description="Secret name")
    namespace: str | None = Field(None, description="Secret namespace (default: kubevigil's own)")
    key: str = Field("token", description="Key in the Secret's data")


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
    api_token: ApiToken | None = Field(None, description="Bearer token for POST /api/checks/<ns>/<name>/run; "
                                                         "without it that call is refused")
    custom_metrics_limit: int = Field(500, ge=0, description="Most custom metric series kept (the rest dropped)")
    log_tail_lines: int = Field(20, ge=0, le=1000, description="Lines of a failed container's log kept in status")

    def sink_refs(self) -> Iterable[SinkRef]:
        for i, name in enumerate(self.sinks.records):
            yield ("sinks", "records", i), name, "record"
        for i, name in enumerate(self.sinks.metrics):
            yield ("sinks", "metrics", i), name, "metric"
