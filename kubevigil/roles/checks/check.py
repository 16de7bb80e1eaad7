"""One check as the controller runs it, whichever HealthCheck kind it came from (both specs map onto this)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from kubevigil.roles.checks import activemonitor, healthcheck
from kubevigil.roles.checks.probes import ProbeSpec
from kubevigil.roles.checks.schedule import Schedule, schedule_from_cron

# What a run's ServiceAccount may do when the spec names no rules: read pods and their logs, nothing else. Within
# kubevigil's own rights (pods/log has `get` only), so the API server's escalation check accepts it.
READ_ONLY_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
)


class InvalidSpec(ValueError):
    """The spec cannot run; the message is one line for status.errorMessage, `state` goes to status.status."""

    state = "Invalid"


class StoppedSpec(InvalidSpec):
    """A valid spec without a schedule: active-monitor reports it Stopped."""

    state = "Stopped"


@dataclass(frozen=True, slots=True)
class CheckKey:
    group: str  # activemonitor.keikoproj.io | kubevigil.io
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.group}/{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Rbac:
    level: str  # cluster | namespace
    service_account: str
    namespace: str
    rules: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    source: activemonitor.Source | healthcheck.Source
    namespace: str
    generate_name: str
    service_account: str | None
    ttl: float | None


@dataclass(frozen=True, slots=True)
class JobRun:
    template: dict[str, Any]
    namespace: str
    generate_name: str
    service_account: str | None
    ttl: float | None
    backoff_limit: int = 0


@dataclass(frozen=True, slots=True)
class KuberhealthyRun:
    pod_spec: dict[str, Any]
    namespace: str
    generate_name: str
    service_account: str | None
    ttl: float | None
    pod_metadata: dict[str, Any] = field(default_factory=dict)  # extraLabels/extraAnnotations as labels/annotations


@dataclass(frozen=True, slots=True)
class ProbeRun:
    name: str  # http, tcp, dns, tls, kubernetes, prometheus
    spec: ProbeSpec  # validated params


@dataclass(frozen=True, slots=True)
class Action:
    """A built-in remedy: rollout-restart, delete-pods or scale, always in the check's namespace."""

    name: str  # rollout-restart | delete-pods | scale
    namespace: str
    target: str  # Deployment name, pod selector, or workload name
    kind: str = "Deployment"
    replicas: int = 0

    def describe(self) -> str:
        if self.name == "delete-pods":
            return f"delete pods in {self.namespace} matching {self.target}"
        if self.name == "scale":
            return f"scale {self.kind} {self.namespace}/{self.target} to {self.replicas}"
        return f"rollout-restart Deployment {self.namespace}/{self.target}"


Runner = WorkflowRun | JobRun | KuberhealthyRun | ProbeRun
RemedyAction = WorkflowRun | JobRun | Action


@dataclass(frozen=True, slots=True)
class Remedy:
    action: RemedyAction
    rbac: Rbac | None
    runs_limit: int | None = None
    reset_interval: float | None = None
    cooldown: float | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class Retry:
    """How soon to try again when a run cannot be started (active-monitor's backoffMin/Max/Factor)."""

    minimum: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0


@dataclass(frozen=True, slots=True)
class Check:
    key: CheckKey
    uid: str
    generation: int
    schedule: Schedule
    suspend: bool
    deadline: float
    runner: Runner
    rbac: Rbac | None
    remedy: Remedy | None
    history_limit: int
    spec_format: str
    retry: Retry = Retry()
    warnings: tuple[str, ...] = field(default=())

    @property
    def labels(self) -> dict[str, str]:
        return run_labels(self.key, self.uid)


LABEL_MANAGED = "app.kubernetes.io/managed-by"
LABEL_CHECK_UID = "kubevigil.io/healthcheck-uid"
LABEL_CHECK = "kubevigil.io/healthcheck"
LABEL_PURPOSE = "kubevigil.io/purpose"
RUN_NOW = "kubevigil.io/run-now"
MANAGER = "kubevigil"


def run_labels(key: CheckKey, uid: str) -> dict[str, str]:
    return {LABEL_MANAGED: MANAGER, LABEL_CHECK_UID: uid, LABEL_CHECK: key.name[:63]}


def spec_format(group: str) -> str:
    """What `status.specFormat` says: which spec a check came from, and who runs it."""
    if group == activemonitor.GROUP:
        return f"{activemonitor.API_VERSION} (active-monitor), run by kubevigil"
    return f"{healthcheck.API_VERSION} (kubevigil)"


def from_object(obj: dict[str, Any], *, default_deadline: float, default_ttl: float) -> Check:
    """The Check for a HealthCheck object of either kind; InvalidSpec with one line when it cannot run."""
    meta = obj["metadata"]
    group = str(obj.get("apiVersion", "")).split("/", 1)[0]
    key = CheckKey(group, meta["namespace"], meta["name"])
    try:
        if group == activemonitor.GROUP:
            return _from_activemonitor(key, obj, default_deadline, default_ttl)
        return _from_kubevigil(key, obj, default_deadline, default_ttl)
    except ValidationError as exc:
        raise InvalidSpec(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "spec"
        parts.append(f"spec.{where}: {err['msg']}")
    return "; ".join(parts)


# ---- active-monitor

def _from_activemonitor(key: CheckKey, obj: dict[str, Any], default_deadline: float, default_ttl: float) -> Check:
    spec = activemonitor.HealthCheckSpec.model_validate(obj.get("spec") or {})
    warnings = [f"{path} is not an active-monitor field; ignored" for path in activemonitor.unknown_keys(spec)]
    level = spec.level or "namespace"
    if spec.level is None:
        warnings.append("spec.level is not set; using namespace (a Role, not a ClusterRole)")
    wf = spec.workflow
    if wf is None or wf.resource is None:
        ignored = "; ".join(warnings)
        raise InvalidSpec("spec.workflow.resource is required" + (f" ({ignored})" if ignored else ""))
    if spec.repeatAfterSec and spec.repeatAfterSec > 0:
        schedule = Schedule(every=float(spec.repeatAfterSec))
    elif spec.schedule and spec.schedule.cron:
        schedule = _cron(spec.schedule.cron, "spec.schedule.cron")
    else:
        raise StoppedSpec("workflow execution is stopped; either spec.repeatAfterSec or spec.schedule must be "
                          "provided")
    namespace = wf.resource.namespace
    sa = wf.resource.serviceAccount or f"{key.name}-check"
    runner = WorkflowRun(wf.resource.source, namespace, wf.generateName or f"{key.name}-", sa, default_ttl)
    _check_source(wf.resource.source, "spec.workflow.resource.source")
    deadline = float(wf.workflowtimeout or spec.repeatAfterSec or schedule.interval_hint() or default_deadline)
    rules = tuple(r.model_dump(exclude_defaults=True) for r in wf.rbacRules) or READ_ONLY_RULES
    rbac = Rbac(level, sa, namespace, rules)
    remedy = None
    if spec.remedyworkflow is not None:
        remedy = _activemonitor_remedy(key, spec, level, sa, default_ttl)
    return Check(key, obj["metadata"].get("uid", ""), int(obj["metadata"].get("generation") or 0), schedule,
                 False, deadline, runner, rbac, remedy, 10, spec_format(key.group), _retry(spec), tuple(warnings))


def _activemonitor_remedy(key: CheckKey, spec: activemonitor.HealthCheckSpec, level: str, check_sa: str,
                          default_ttl: float) -> Remedy:
    rw = spec.remedyworkflow
    assert rw is not None
    if rw.resource is None:
        raise InvalidSpec("spec.remedyworkflow.resource is required when remedyworkflow is set")
    if not rw.resource.serviceAccount:
        raise InvalidSpec("spec.remedyworkflow.resource.serviceAccount is required (active-monitor requires it)")
    _check_source(rw.resource.source, "spec.remedyworkflow.resource.source")
    sa = rw.resource.serviceAccount
    if sa == check_sa:  # active-monitor gives the remedy its own account, so the check never gets remedy rights
        sa = f"{sa}-remedy"
    ns = rw.resource.namespace
    action = WorkflowRun(rw.resource.source, ns, rw.generateName or f"{key.name}-remedy-", sa, default_ttl)
    rules = tuple(r.model_dump(exclude_defaults=True) for r in rw.rbacRules) or READ_ONLY_RULES
    return Remedy(action, Rbac(level, sa, ns, rules), spec.remedyRunsLimit or None,
                  float(spec.remedyResetInterval) if spec.remedyResetInterval else None)


def _retry(spec: activemonitor.HealthCheckSpec) -> Retry:
    factor = 2.0
    if spec.backoffFactor:
        try:
            factor = max(1.0, 1.0 + float(spec.backoffFactor))
        except ValueError:
            raise InvalidSpec(f"spec.backoffFactor {spec.backoffFactor!r} is not a number") from None
    return Retry(float(spec.backoffMin or 1), float(spec.backoffMax or 60), factor)


def _check_source(source: activemonitor.Source | healthcheck.Source, where: str) -> None:
    chosen = [n for n in ("inline", "url", "file") if getattr(source, n) is not None]
    if len(chosen) != 1:
        raise InvalidSpec(f"{where} needs exactly one of inline, url, file; got {', '.join(chosen) or 'none'}")


def _cron(text: str, where: str) -> Schedule:
    try:
        return schedule_from_cron(text)
    except ValueError as exc:
        raise InvalidSpec(f"{where}: {exc}") from None


# ---- kubevigil.io/v1

def _from_kubevigil(key: CheckKey, obj: dict[str, Any], default_deadline: float, default_ttl: float) -> Check:
    spec = healthcheck.HealthCheckSpec.model_validate(obj.get("spec") or {})
    if spec.schedule.cron is not None:
        schedule = _cron(spec.schedule.cron, "spec.schedule.cron")
    else:
        assert spec.schedule.every is not None
        if spec.schedule.every <= 0:
            raise InvalidSpec("spec.schedule.every must be more than 0")
        schedule = Schedule(every=spec.schedule.every)
    deadline = spec.timeout or min(schedule.interval_hint() or default_deadline, default_deadline)
    sa = (spec.rbac.serviceAccount if spec.rbac else None) or f"{key.name}-check"
    runner = _runner(key, spec, sa, default_ttl)
    rbac = None
    if not isinstance(runner, ProbeRun):
        rbac = _rbac(spec.rbac, sa, runner.namespace)
    remedy = _remedy(key, spec.remedy, default_ttl) if spec.remedy else None
    return Check(key, obj["metadata"].get("uid", ""), int(obj["metadata"].get("generation") or 0), schedule,
                 spec.suspend, float(deadline), runner, rbac, remedy, spec.historyLimit, spec_format(key.group))


def _rbac(spec: healthcheck.Rbac | None, sa: str, namespace: str) -> Rbac:
    rules = tuple(r.model_dump(exclude_defaults=True) for r in spec.rules) if spec and spec.rules else READ_ONLY_RULES
    return Rbac(spec.level if spec else "namespace", sa, namespace, rules)


def _runner(key: CheckKey, spec: healthcheck.HealthCheckSpec, sa: str, default_ttl: float) -> Runner:
    prefix = f"{key.name}-"
    if spec.probe is not None:
        return ProbeRun(*spec.probe.chosen())
    if spec.workflow is not None:
        w = spec.workflow
        return WorkflowRun(w.source, w.namespace or key.namespace, w.generateName or prefix, sa,
                           w.ttl if w.ttl is not None else default_ttl)
    if spec.job is not None:
        j = spec.job
        return JobRun(j.template, j.namespace or key.namespace, prefix, sa, j.ttl if j.ttl is not None else default_ttl,
                      j.backoffLimit)
    k = spec.kuberhealthy
    assert k is not None
    return KuberhealthyRun(k.podSpec, k.namespace or key.namespace, prefix, sa,
                           k.ttl if k.ttl is not None else default_ttl,
                           {"labels": dict(k.extraLabels), "annotations": dict(k.extraAnnotations)})


def _remedy(key: CheckKey, spec: healthcheck.Remedy, default_ttl: float) -> Remedy:
    ns = key.namespace
    sa = (spec.rbac.serviceAccount if spec.rbac else None) or f"{key.name}-remedy"
    action: RemedyAction
    if spec.rolloutRestart is not None:
        action = Action("rollout-restart", ns, spec.rolloutRestart.deployment)
    elif spec.deletePods is not None:
        _check_selector(spec.deletePods.selector)
        action = Action("delete-pods", ns, spec.deletePods.selector)
    elif spec.scale is not None:
        action = Action("scale", ns, spec.scale.name, spec.scale.kind, spec.scale.replicas)
    elif spec.workflow is not None:
        w = spec.workflow
        action = WorkflowRun(w.source, w.namespace or ns, w.generateName or f"{key.name}-remedy-", sa,
                             w.ttl if w.ttl is not None else default_ttl)
    else:
        j = spec.job
        assert j is not None
        action = JobRun(j.template, j.namespace or ns, f"{key.name}-remedy-", sa,
                        j.ttl if j.ttl is not None else default_ttl, j.backoffLimit)
    rbac = None if isinstance(action, Action) else _rbac(spec.rbac, sa, action.namespace)
    return Remedy(action, rbac, spec.runsLimit, spec.resetInterval, spec.cooldown, spec.dryRun)


def _check_selector(selector: str) -> None:
    from kubevigil.kube.selectors import checked_selector

    try:
        checked_selector(selector)
    except ValueError as exc:
        raise InvalidSpec(f"spec.remedy.deletePods.selector: {exc}") from None
    if not selector.strip():
        raise InvalidSpec("spec.remedy.deletePods.selector must not be empty (it would match every pod)")
