"""Health of one Kubernetes object, per kind, from the object as the API returns it (a plain dict)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from croniter import croniter

from kubevigil.roles.status.config import Mode, mode_text, required_count

State = Literal["healthy", "unhealthy", "progressing"]


@dataclass(frozen=True, slots=True)
class Health:
    state: State
    reason: str = ""


HEALTHY = Health("healthy")

# Kinds whose mode counts replicas inside one object; for the others the mode counts matched objects.
REPLICA_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})


def _int(d: dict[str, Any], key: str, default: int = 0) -> int:
    v = d.get(key)
    return default if v is None else int(v)


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or ()}


def _generation_lag(obj: dict[str, Any]) -> Health | None:
    gen = _int(obj.get("metadata") or {}, "generation")
    observed = _int(obj.get("status") or {}, "observedGeneration")
    if observed < gen:
        return Health("progressing", f"rolling out: generation {gen} not yet observed (at {observed})")
    return None


def _replicas(available: int, desired: int, mode: Mode, noun: str) -> Health:
    need = required_count(mode, desired)
    if available < need:
        return Health("unhealthy", f"{available} of {desired} {noun} available, {mode_text(mode)} needs {need}")
    return HEALTHY


def deployment(obj: dict[str, Any], mode: Mode) -> Health:
    """Generation observed, no rollout running or stuck, available >= mode threshold, Available not False."""
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    conds = _conditions(obj)
    progressing = conds.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded" and progressing.get("status") == "False":
        return Health("unhealthy", f"rollout stuck: {progressing.get('message') or 'progress deadline exceeded'}")
    lag = _generation_lag(obj)
    if lag:
        return lag
    desired = _int(spec, "replicas", 1)
    updated, total, available = _int(st, "updatedReplicas"), _int(st, "replicas"), _int(st, "availableReplicas")
    # Old-ReplicaSet pods still running is what tells a rollout from a plain scale-up.
    if total > updated:
        return Health("progressing", f"rolling out: {updated} of {desired} updated, {available} available")
    health = _replicas(available, desired, mode, "replicas")
    if health.state != "healthy":
        return health
    avail_cond = conds.get("Available")
    if mode == "AllOfThem" and avail_cond is not None and avail_cond.get("status") == "False":
        return Health("unhealthy", f"Available=False: {avail_cond.get('reason') or avail_cond.get('message') or ''}")
    return HEALTHY


def statefulset(obj: dict[str, Any], mode: Mode) -> Health:
    """Generation observed, current revision = update revision, ready >= mode threshold."""
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    lag = _generation_lag(obj)
    if lag:
        return lag
    desired = _int(spec, "replicas", 1)
    ready = _int(st, "availableReplicas") if "availableReplicas" in st else _int(st, "readyReplicas")
    rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    current, update = st.get("currentRevision"), st.get("updateRevision")
    if rolling and current and update and current != update:
        return Health("progressing", f"rolling out: {_int(st, 'updatedReplicas')} of {desired} updated, {ready} ready")
    return _replicas(ready, desired, mode, "replicas")


def daemonset(obj: dict[str, Any], mode: Mode) -> Health:
    """Generation observed, every scheduled pod updated, available >= mode threshold of desiredNumberScheduled."""
    st = obj.get("status") or {}
    lag = _generation_lag(obj)
    if lag:
        return lag
    desired = _int(st, "desiredNumberScheduled")
    available = _int(st, "numberAvailable") if "numberAvailable" in st else _int(st, "numberReady")
    updated = _int(st, "updatedNumberScheduled", desired)
    if updated < desired:
        return Health("progressing", f"rolling out: {updated} of {desired} pods updated, {available} available")
    return _replicas(available, desired, mode, "pods")


def replicaset(obj: dict[str, Any], mode: Mode) -> Health:
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    lag = _generation_lag(obj)
    if lag:
        return lag
    available = _int(st, "availableReplicas") if "availableReplicas" in st else _int(st, "readyReplicas")
    return _replicas(available, _int(spec, "replicas", 1), mode, "replicas")


def job(obj: dict[str, Any]) -> Health:
    """Complete is healthy, Failed is not, a running Job is progressing."""
    conds = _conditions(obj)
    for kind in ("Failed", "FailureTarget"):
        c = conds.get(kind)
        if c and c.get("status") == "True":
            return Health("unhealthy", f"failed: {c.get('reason') or ''} {c.get('message') or ''}".strip())
    complete = conds.get("Complete") or conds.get("SuccessCriteriaMet")
    if complete and complete.get("status") == "True":
        return HEALTHY
    if (obj.get("spec") or {}).get("suspend"):
        return Health("unhealthy", "suspended")
    return Health("progressing", f"running: {_int(obj.get('status') or {}, 'active')} active pods")


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def cronjob_period(schedule: str, now: float) -> float:
    """Seconds between the two schedule times around `now` (ValueError if the schedule is not cron)."""
    if not croniter.is_valid(schedule):
        raise ValueError(f"schedule {schedule!r} is not a cron expression")
    return float(croniter(schedule, now).get_next(float) - croniter(schedule, now).get_prev(float))


def cronjob(obj: dict[str, Any], now: float, max_age: float | None) -> Health:
    """The last scheduled run succeeded (or is still running) and the last success is not older than max_age."""
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("suspend"):
        return Health("unhealthy", "suspended")
    if max_age is None:
        try:
            max_age = 2 * cronjob_period(str(spec.get("schedule", "")), now)
        except ValueError as exc:
            return Health("unhealthy", str(exc))
    scheduled, succeeded = _timestamp(st.get("lastScheduleTime")), _timestamp(st.get("lastSuccessfulTime"))
    created = _timestamp((obj.get("metadata") or {}).get("creationTimestamp")) or now
    active = bool(st.get("active"))
    if scheduled is not None and (succeeded is None or succeeded < scheduled) and not active:
        return Health("unhealthy", "last scheduled run did not succeed")
    since = succeeded if succeeded is not None else created
    if now - since > max_age:
        what = "last success" if succeeded is not None else "no success since creation"
        return Health("unhealthy", f"{what} {now - since:.0f}s ago, max_age {max_age:.0f}s")
    return Health("progressing", "running") if active and succeeded is None else HEALTHY


def _waiting_reason(st: dict[str, Any]) -> str:
    for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return f"{cs.get('name')}: {waiting['reason']}"
    return ""


def pod(obj: dict[str, Any]) -> Health:
    """Succeeded, or Running with Ready=True."""
    st = obj.get("status") or {}
    phase = st.get("phase", "Pending")
    if phase == "Succeeded":
        return HEALTHY
    if phase == "Failed":
        return Health("unhealthy", f"failed: {st.get('reason') or st.get('message') or ''}".rstrip(": "))
    ready = _conditions(obj).get("Ready") or {}
    if phase == "Running" and ready.get("status") == "True":
        return HEALTHY
    detail = _waiting_reason(st) or ready.get("reason") or ""
    what = "not ready" if phase == "Running" else phase.lower()
    return Health("unhealthy", f"{what}: {detail}" if detail else what)


def node(obj: dict[str, Any]) -> Health:
    ready = _conditions(obj).get("Ready")
    if ready and ready.get("status") == "True":
        return HEALTHY
    if not ready:
        return Health("unhealthy", "no Ready condition")
    return Health("unhealthy", f"NotReady: {ready.get('reason') or ready.get('status')}")


def pvc(obj: dict[str, Any]) -> Health:
    phase = (obj.get("status") or {}).get("phase", "Pending")
    return HEALTHY if phase == "Bound" else Health("unhealthy", f"{phase}, not Bound")


Evaluator = Callable[[dict[str, Any], Mode, float, float | None], Health]

EVALUATORS: dict[str, Evaluator] = {
    "Deployment": lambda o, m, now, age: deployment(o, m),
    "StatefulSet": lambda o, m, now, age: statefulset(o, m),
    "DaemonSet": lambda o, m, now, age: daemonset(o, m),
    "ReplicaSet": lambda o, m, now, age: replicaset(o, m),
    "Job": lambda o, m, now, age: job(o),
    "CronJob": lambda o, m, now, age: cronjob(o, now, age),
    "Pod": lambda o, m, now, age: pod(o),
    "Node": lambda o, m, now, age: node(o),
    "PersistentVolumeClaim": lambda o, m, now, age: pvc(o),
}


def evaluate(kind: str, obj: dict[str, Any], mode: Mode, now: float, max_age: float | None = None) -> Health:
    """Health of one object of `kind`; `mode` applies to replicas for workload kinds."""
    return EVALUATORS[kind](obj, mode, now, max_age)
