"""The `checks` role: HealthCheck informers of both kinds feed a keyed work queue; each reconcile moves one check on.

A reconcile reads the check's status (the truth across restarts): it follows the run in flight, adopts a run it
finds by label, or starts one when the schedule says so, then writes status once. A check never has two runs at
once because its key is handled by one worker at a time and a run in flight is always in status.currentRun.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import importlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import Counter, Histogram

from kubevigil.core.readiness import Readiness
from kubevigil.core.signals import Metric, Record
from kubevigil.kube.errors import ApiError
from kubevigil.kube.factory import Subscription
from kubevigil.kube.informer import Change, Informer
from kubevigil.kube.resources import Resource
from kubevigil.kube.workqueue import WorkQueue
from kubevigil.roles.checks import access, activemonitor, healthcheck, remedy, runs
from kubevigil.roles.checks.check import (
    LABEL_CHECK_UID,
    LABEL_MANAGED,
    LABEL_PURPOSE,
    MANAGER,
    RUN_NOW,
    Action,
    Check,
    CheckKey,
    InvalidSpec,
    JobRun,
    KuberhealthyRun,
    ProbeRun,
    WorkflowRun,
    from_object,
    spec_format,
)
from kubevigil.roles.checks.config import ChecksSection
from kubevigil.roles.checks.metrics import CheckMetrics
from kubevigil.roles.checks.recorder import EventRecorder
from kubevigil.roles.checks.runs import JOB, WORKFLOW, Outcome
from kubevigil.roles.checks.schedule import jitter_offset, next_run
from kubevigil.roles.checks.status import (
    parse_time,
    record_remedy,
    record_result,
    reset_remedy,
    rfc3339,
)
from kubevigil.roles.role import Role, RoleContext

log = structlog.get_logger("kubevigil.checks")

FINALIZER = "kubevigil.io/healthcheck-cleanup"
HC_RESOURCES = {
    group: Resource(group, version, "HealthCheck", "healthchecks", True, short_names=("hc", "hcs"),
                    subresources=("status",))
    for group, version in ((activemonitor.GROUP, activemonitor.VERSION), (healthcheck.GROUP, healthcheck.VERSION))
}
RUN_KINDS = {"Workflow": WORKFLOW, "Job": JOB, "Kuberhealthy": JOB}
DISCOVERY_INTERVAL = 10.0
SINK_PUT_TIMEOUT = 5.0


@dataclass(slots=True)
class _Started:
    """A run of a Workflow or Job that has been created."""

    kind: str
    name: str
    namespace: str
    uuid: str = ""


class ChecksRole(Role):
    name = "checks"

    def __init__(self, section: ChecksSection, ctx: RoleContext,
                 http: Callable[[], aiohttp.ClientSession] | None = None) -> None:
        self.section = section
        self.ctx = ctx
        self.api = ctx.api
        self.clock = ctx.clock
        self.queue: WorkQueue[CheckKey] = WorkQueue(self._reconcile, name="checks", workers=section.workers,
                                                    clock=ctx.clock, registry=ctx.registry)
        self.reporting_url = section.reporting_url or f"http://kubevigil.{ctx.pod.namespace}.svc:8080/check"
        self.recorder = EventRecorder(ctx.api, ctx.pod.name)
        self.views: dict[CheckKey, dict[str, Any]] = {}  # latest status per check, for metrics and the API
        self.metrics = CheckMetrics(self.views, ctx.clock.now, section.custom_metrics_limit, ctx.registry)
        self.reports: dict[str, Outcome] = {}
        self.recent_lateness: deque[float] = deque(maxlen=100_000)
        self.runs_started = 0
        self.runs_finished = 0
        self._hc_informers: dict[str, list[Informer]] = {}
        self._run_informers: dict[str, Informer] = {}
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._local: dict[CheckKey, dict[str, Any]] = {}  # what our last write returned (newer than the cache)
        self._key_by_uid: dict[str, CheckKey] = {}
        self._runs: dict[str, dict[tuple[str, str, str], dict[str, Any]]] = {}  # check uid -> run objects
        self._uuids: dict[str, CheckKey] = {}
        self._start_failures: dict[CheckKey, int] = {}
        self._probe_specs: dict[str, tuple[int, Any]] = {}  # uid -> (generation, validated probe params)
        self._checks: dict[str, tuple[int, Check]] = {}  # uid -> (generation, parsed spec)
        self._http: aiohttp.ClientSession | None = None
        # How run() makes the session for url sources and probes (tests give one that stays on loopback).
        self._new_http = http or (lambda: aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)))
        self._lateness = Histogram("kubevigil_checks_start_lateness_seconds",
                                   "How late a run started against its schedule",
                                   buckets=(0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60), registry=ctx.registry)
        self._runs_total = Counter("kubevigil_checks_runs", "Runs finished, by runner and result",
                                   ["runner", "result"], registry=ctx.registry)

    # ---- lifecycle ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Reconcile until cancelled. Each run (a new leadership term) starts from the API: status is the truth, so
        what the last term kept in memory is dropped when it ends."""
        self._http = self._new_http()
        try:
            self._tasks.append(asyncio.create_task(self.queue.run(), name="checks:queue"))
            await self._discover()
            self._tasks.append(asyncio.create_task(self._keep_discovering(), name="checks:discovery"))
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()
            subscriptions, self._subscriptions = self._subscriptions, []
            for subscription in subscriptions:
                await subscription.close()
            await self._http.close()
            self._forget_term()

    def _forget_term(self) -> None:
        self._hc_informers.clear()
        self._run_informers.clear()
        self.queue.clear()
        for key in list(self.views):
            self.metrics.forget(key)
        self.views.clear()
        for state in (self._local, self._key_by_uid, self._runs, self._uuids, self._start_failures, self.reports):
            state.clear()

    async def _keep_discovering(self) -> None:
        while True:
            await self.clock.sleep(DISCOVERY_INTERVAL)
            await self._discover()

    async def _discover(self) -> None:
        """Start the informers of each kind the API serves; run informers first, so adoption sees every run."""
        for kind, res in (("Workflow", WORKFLOW), ("Job", JOB)):
            if kind not in self._run_informers and await self._served(res):
                self._run_informers[kind] = await self._subscribe(
                    res, self._on_run, label_selector=f"{LABEL_MANAGED}={MANAGER}", name=f"checks-{res.plural}")
        await asyncio.gather(*(inf.synced.wait() for inf in self._run_informers.values()))
        for group, res in HC_RESOURCES.items():
            if group in self._hc_informers or not await self._served(res):
                continue
            self._hc_informers[group] = [await self._subscribe(res, self._on_check, namespace=ns,
                                                               name=f"healthchecks.{group}")
                                         for ns in self._namespaces()]

    async def _subscribe(self, res: Resource, handler: Callable[[Change], Awaitable[None]], *,
                         namespace: str | None = None, label_selector: str | None = None, name: str) -> Informer:
        subscription = await self.ctx.informers.subscribe(res, handler, namespace=namespace,
                                                          label_selector=label_selector, name=name)
        self._subscriptions.append(subscription)
        return subscription.informer

    def _namespaces(self) -> list[str | None]:
        return list(self.section.namespaces) or [None]

    async def _served(self, res: Resource) -> bool:
        try:
            await self.api.resource_for(res.api_version, res.kind)
        except KeyError:
            return False
        except (ApiError, OSError) as exc:
            log.warning("discovery failed", api_version=res.api_version, error=str(exc))
            return False
        return True

    def readiness(self) -> Readiness:
        if not self._hc_informers:
            return Readiness(False, "no HealthCheck CRD is served (apply deploy/crds/ or `kubevigil checks crd`)")
        pending = [inf.name for infs in self._hc_informers.values() for inf in infs if not inf.synced.is_set()]
        pending += [inf.name for inf in self._run_informers.values() if not inf.synced.is_set()]
        if pending:
            return Readiness(False, f"informers not synced: {', '.join(sorted(set(pending)))}")
        return Readiness(True)

    # ---- informer handlers ---------------------------------------------------------------------------------------

    async def _on_check(self, change: Change) -> None:
        obj = change.obj
        meta = obj["metadata"]
        key = CheckKey(str(obj.get("apiVersion", "")).split("/", 1)[0], meta["namespace"], meta["name"])
        if change.type == "DELETED":
            self.views.pop(key, None)
        else:
            self.views[key] = obj.get("status") or {}
            self._key_by_uid[meta.get("uid", "")] = key
            local = self._local.get(key)
            if local is not None and local["metadata"].get("resourceVersion") == meta.get("resourceVersion"):
                return  # the echo of our own write: the reconcile that wrote it already scheduled what follows
        self.queue.add(key)

    async def _on_run(self, change: Change) -> None:
        obj = change.obj
        meta = obj["metadata"]
        uid = (meta.get("labels") or {}).get(LABEL_CHECK_UID, "")
        slot = (obj.get("kind", ""), meta.get("namespace", ""), meta["name"])
        if change.type == "DELETED":
            self._runs.get(uid, {}).pop(slot, None)
        else:
            self._runs.setdefault(uid, {})[slot] = obj
        key = self._key_by_uid.get(uid)
        if key is not None:
            self.queue.add(key)

    # ---- reconcile -------------------------------------------------------------------------------------------------

    def _current(self, key: CheckKey) -> dict[str, Any] | None:
        """The check's object: the informer's copy, or our last write when the cache has not caught up."""
        cached = None
        for inf in self._hc_informers.get(key.group, ()):
            cached = inf.cache.get(key.namespace, key.name) or cached
        local = self._local.get(key)
        if cached is None:
            self._local.pop(key, None)
            return None
        if local is not None and local["metadata"].get("uid") == cached["metadata"].get("uid") \
                and _rv(local) > _rv(cached):
            return local
        return cached

    async def _reconcile(self, key: CheckKey) -> None:
        obj = self._current(key)
        if obj is None:
            self._forget(key)
            return
        meta = obj["metadata"]
        self._key_by_uid[meta["uid"]] = key
        if meta.get("deletionTimestamp"):
            await self._finalize(key, obj)
            return
        if FINALIZER not in (meta.get("finalizers") or []):
            obj = await self._patch(key, obj, {"metadata": {"finalizers": [*(meta.get("finalizers") or []),
                                                                           FINALIZER]}})
        status: dict[str, Any] = copy.deepcopy(obj.get("status") or {})
        before = copy.deepcopy(status)
        try:
            check = self._parse(obj)
            self._probe_spec(check)
        except InvalidSpec as exc:
            await self._invalid(key, obj, status, before, exc)
            return
        generation_changed = status.get("observedGeneration") != check.generation
        status.update(specFormat=check.spec_format, observedGeneration=check.generation,
                      warnings=list(check.warnings) or None)
        if status.get("status") in ("Invalid", "Stopped"):
            status.update(status=None, errorMessage="")
        wake: list[float] = []
        current = status.get("currentRun")
        if current:
            if current.get("uuid"):
                self._uuids[current["uuid"]] = key
            obj = await self._follow(check, obj, status, wake)
        if not status.get("currentRun"):
            self._adopt(check, status)
        if not status.get("currentRun"):
            obj = await self._schedule(check, obj, status, wake, generation_changed)
        await self._collect_garbage(check, status, wake)
        if status != before:
            obj = await self._write_status(key, obj, status)
        self.views[key] = obj.get("status") or status
        if wake:
            self.queue.add_after(key, max(0.0, min(wake) - self.clock.now()))

    def _parse(self, obj: dict[str, Any]) -> Check:
        """The Check for this object, parsed once per generation (a reconcile per run must not re-validate)."""
        meta = obj["metadata"]
        uid, generation = meta.get("uid", ""), int(meta.get("generation") or 0)
        cached = self._checks.get(uid)
        if cached is not None and cached[0] == generation:
            return cached[1]
        check = from_object(obj, default_deadline=self.section.max_timeout, default_ttl=self.section.run_ttl)
        self._checks[uid] = (generation, check)
        return check

    def _forget(self, key: CheckKey) -> None:
        for uid in [u for u, k in self._key_by_uid.items() if k == key]:
            self._checks.pop(uid, None)
            self._probe_specs.pop(uid, None)
        self.views.pop(key, None)
        self.metrics.forget(key)
        self.queue.discard(key)
        self._start_failures.pop(key, None)

    async def _invalid(self, key: CheckKey, obj: dict[str, Any], status: dict[str, Any], before: dict[str, Any],
                       exc: InvalidSpec) -> None:
        message = str(exc)
        status.update(status=exc.state, errorMessage=message, nextRunAt=None, specFormat=spec_format(key.group),
                      observedGeneration=int(obj["metadata"].get("generation") or 0))
        if status != before:
            if before.get("errorMessage") != message:
                await self.recorder.record(obj, "Warning", "InvalidSpec" if exc.state == "Invalid" else exc.state,
                                           message, self.clock.now())
            obj = await self._write_status(key, obj, status)
        self.views[key] = obj.get("status") or status

    def _probe_spec(self, check: Check) -> Any:
        """The validated params of a built-in probe (cached per generation); InvalidSpec naming the problem."""
        if not isinstance(check.runner, ProbeRun):
            return None
        known = self._probe_specs.get(check.uid)
        if known is not None and known[0] == check.generation:
            return known[1]
        try:
            probes = importlib.import_module("kubevigil.roles.checks.probes")
        except ModuleNotFoundError:
            raise InvalidSpec("built-in probes are not available in this build of kubevigil") from None
        table = getattr(probes, "PROBES", {})
        model = table.get(check.runner.name)
        if model is None:
            raise InvalidSpec(f"spec.probe: unknown probe {check.runner.name!r}; one of {', '.join(sorted(table))}")
        try:
            spec = model.model_validate(check.runner.params)
        except ValueError as exc:
            first = str(exc).splitlines()
            raise InvalidSpec(f"spec.probe.{check.runner.name}: {' '.join(first[1:3]).strip() or exc}") from None
        self._probe_specs[check.uid] = (check.generation, spec)
        return spec

    # ---- scheduling and starting -------------------------------------------------------------------------------------

    async def _schedule(self, check: Check, obj: dict[str, Any], status: dict[str, Any], wake: list[float],
                        generation_changed: bool) -> dict[str, Any]:
        if check.suspend:
            status.update(status="Suspended", nextRunAt=None)
            return obj
        if status.get("status") == "Suspended":
            status["status"] = None
        now = self.clock.now()
        offset = jitter_offset(check.uid, check.schedule, self.section.jitter, self.section.max_jitter)
        scheduled = parse_time(status.get("nextRunAt"))
        if scheduled is None or generation_changed:
            scheduled = next_run(check.schedule, None, offset, now)
        run_now = bool((obj["metadata"].get("annotations") or {}).get(RUN_NOW))
        if not run_now and scheduled > now:
            status["nextRunAt"] = _stamp(scheduled)
            wake.append(scheduled)
            return obj
        slot = min(scheduled, now)
        if not run_now:
            self._lateness.observe(max(0.0, now - scheduled))
            self.recent_lateness.append(max(0.0, now - scheduled))
        await self._start(check, obj, status, "check", check.runner, slot, wake)
        if run_now:
            obj = await self._patch(check.key, obj, {"metadata": {"annotations": {RUN_NOW: None}}})
        return obj

    async def _start(self, check: Check, obj: dict[str, Any], status: dict[str, Any], purpose: str,
                     runner: Any, slot: float, wake: list[float]) -> None:
        now = self.clock.now()
        if isinstance(runner, ProbeRun):
            outcome, started, finished = await self._run_probe(check)
            await self._finish(check, obj, status, purpose, outcome, started, finished, f"probe/{runner.name}",
                               slot, wake)
            return
        try:
            started_run = await self._create_run(check, obj, purpose, runner, now)
        except (runs.SourceError, access.RbacError, ApiError) as exc:
            await self._not_started(check, obj, status, purpose, exc, slot, wake)
            return
        self._start_failures.pop(check.key, None)
        self.runs_started += 1
        deadline = now + check.deadline
        status["currentRun"] = {"purpose": purpose, "kind": started_run.kind, "name": started_run.name,
                                "namespace": started_run.namespace, "startedAt": _stamp(now),
                                "scheduledAt": _stamp(slot), "deadline": _stamp(deadline), "uuid": started_run.uuid}
        if started_run.uuid:
            self._uuids[started_run.uuid] = check.key
        reason = "RunStarted" if purpose == "check" else "RemedyStarted"
        await self.recorder.record(obj, "Normal", reason, f"{started_run.kind} {started_run.namespace}/"
                                   f"{started_run.name} started", now)
        wake.append(deadline)

    async def _create_run(self, check: Check, obj: dict[str, Any], purpose: str, runner: Any,
                          now: float) -> _Started:
        grant = check.rbac if purpose == "check" else (check.remedy.rbac if check.remedy else None)
        if grant is not None:
            same_ns = grant.namespace == check.key.namespace
            await access.ensure(self.api, grant, check.key, runs.owner_reference(obj) if same_ns else None)
        if isinstance(runner, WorkflowRun):
            assert self._http is not None
            doc = await runs.read_source(runner.source, self._http)
            body = runs.workflow_body(check, runner, doc, purpose, obj, check.deadline)
            try:
                created = await self.api.create(WORKFLOW, runner.namespace, body)
            except ApiError as exc:
                if exc.status == 404:
                    raise runs.SourceError("Argo Workflows is not installed (workflows.argoproj.io not served)") \
                        from None
                raise
            return _Started("Workflow", created["metadata"]["name"], runner.namespace)
        if isinstance(runner, KuberhealthyRun):
            uuid = _uuid()
            body = runs.kuberhealthy_body(check, runner, obj, now + check.deadline, check.deadline,
                                          self.reporting_url, uuid)
            created = await self.api.create(JOB, runner.namespace, body)
            return _Started("Kuberhealthy", created["metadata"]["name"], runner.namespace, uuid)
        assert isinstance(runner, JobRun)
        created = await self.api.create(JOB, runner.namespace, runs.job_body(check, runner, purpose, obj,
                                                                             check.deadline))
        return _Started("Job", created["metadata"]["name"], runner.namespace)

    async def _not_started(self, check: Check, obj: dict[str, Any], status: dict[str, Any], purpose: str,
                           exc: Exception, slot: float, wake: list[float]) -> None:
        """A run that cannot be created counts as a failed run; the next try follows the spec's backoff."""
        message = f"could not start: {exc.message if isinstance(exc, ApiError) else exc}"
        now = self.clock.now()
        if purpose == "remedy":
            record_remedy(status, ok=False, started=now, finished=now, message=message)
            await self.recorder.record(obj, "Warning", "RemedyFailed", message, now)
            return
        failures = self._start_failures.get(check.key, 0)
        self._start_failures[check.key] = failures + 1
        await self._finish(check, obj, status, purpose, Outcome(False, message), now, now, "", slot, wake)
        retry = min(check.retry.maximum, check.retry.minimum * check.retry.factor ** failures)
        due = min(parse_time(status.get("nextRunAt")) or now + retry, now + retry)
        status["nextRunAt"] = _stamp(due)
        wake.append(due)

    async def _run_probe(self, check: Check) -> tuple[Outcome, float, float]:
        spec = self._probe_spec(check)
        probes = importlib.import_module("kubevigil.roles.checks.probes")
        assert self._http is not None
        env = probes.ProbeEnv(api=self.api, clock=self.clock, http=self._http)
        started = self.clock.now()
        self.runs_started += 1
        try:
            async with asyncio.timeout(check.deadline + 1.0):  # not wait_for: see runtime.py
                result = await spec.run(env, check.deadline)
        except TimeoutError:
            return Outcome(False, f"timed out after {check.deadline:g}s"), started, self.clock.now()
        except Exception as exc:  # a probe bug is a failed run with its reason, not a dead worker
            log.exception("probe raised", probe=getattr(check.runner, "name", "?"), check=check.key)
            return Outcome(False, f"probe error: {type(exc).__name__}: {exc}"), started, self.clock.now()
        values = [{"name": k, "value": v, "help": f"{k} reported by the probe"} for k, v in result.values.items()]
        return Outcome(bool(result.ok), str(result.message), values), started, started + float(result.duration)

    # ---- following a run -----------------------------------------------------------------------------------------

    async def _follow(self, check: Check, obj: dict[str, Any], status: dict[str, Any],
                      wake: list[float]) -> dict[str, Any]:
        run = status["currentRun"]
        kind, name, ns, purpose = run.get("kind"), run.get("name", ""), run.get("namespace", ""), run.get("purpose")
        started = parse_time(run.get("startedAt")) or self.clock.now()
        deadline = parse_time(run.get("deadline")) or started + check.deadline
        slot = parse_time(run.get("scheduledAt")) or started
        if kind not in RUN_KINDS:
            status["currentRun"] = None
            return obj
        live = await self._run_object(check.uid, kind, ns, name)
        outcome = await self._outcome(kind, live, run)
        now = self.clock.now()
        if outcome is None and now < deadline:
            wake.append(deadline)
            return obj
        if outcome is None:
            await self._delete_run(kind, ns, name)
            outcome = Outcome(False, f"timed out after {deadline - started:.0f}s; {_shown(kind)} {name} deleted")
            await self.recorder.record(obj, "Warning", "RunTimedOut", outcome.message, now)
        elif kind == "Kuberhealthy" and live is not None and not runs.job_finished(live):
            await self._delete_run(kind, ns, name)  # the pod reported; it need not linger
        self.reports.pop(run.get("uuid") or "", None)
        status["currentRun"] = None
        await self._finish(check, obj, status, str(purpose), outcome, started, now, name, slot, wake)
        return obj

    async def _run_object(self, uid: str, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        res = RUN_KINDS[kind]
        known = self._runs.get(uid, {}).get((res.kind, ns, name))
        if known is not None:
            return known
        try:
            return dict(await self.api.get(res, ns, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def _outcome(self, kind: str, live: dict[str, Any] | None, run: dict[str, Any]) -> Outcome | None:
        """The finished run's outcome; None while it runs."""
        if kind == "Kuberhealthy":
            report = self.reports.get(run.get("uuid") or "")
            if report is not None:
                return report
            if live is None:
                return Outcome(False, f"check Job {run.get('name')} was deleted before its pod reported")
            if runs.job_finished(live):
                return Outcome(False, "check pod exited without reporting to KH_REPORTING_URL")
            return None
        if live is None:
            return Outcome(False, f"{_shown(kind)} {run.get('name')} was deleted before it finished")
        if kind == "Workflow":
            return runs.workflow_outcome(live) if runs.workflow_finished(live) else None
        if runs.job_finished(live) is None:
            return None
        return await runs.job_outcome(self.api, live, self.section.log_tail_lines)

    async def _finish(self, check: Check, obj: dict[str, Any], status: dict[str, Any], purpose: str,
                      outcome: Outcome, started: float, finished: float, run_name: str, slot: float,
                      wake: list[float]) -> None:
        now = self.clock.now()
        if purpose == "remedy":
            record_remedy(status, ok=outcome.ok, started=started, finished=finished, message=outcome.message)
            await self.recorder.record(obj, "Normal" if outcome.ok else "Warning",
                                       "RemedySucceeded" if outcome.ok else "RemedyFailed",
                                       outcome.message or f"remedy {run_name} succeeded", now)
            return
        previous = status.get("status")
        record_result(status, ok=outcome.ok, started=started, finished=finished, message=outcome.message,
                      run=run_name, history_limit=check.history_limit)
        self.runs_finished += 1
        self._runs_total.labels(_runner_name(check), status["status"]).inc()
        self.metrics.set_custom(check.key, outcome.metrics)
        offset = jitter_offset(check.uid, check.schedule, self.section.jitter, self.section.max_jitter)
        due = next_run(check.schedule, slot, offset, now)
        status["nextRunAt"] = _stamp(due)
        wake.append(due)
        if not isinstance(check.runner, ProbeRun) or previous != status["status"]:
            await self.recorder.record(obj, "Normal" if outcome.ok else "Warning",
                                       "RunSucceeded" if outcome.ok else "RunFailed",
                                       outcome.message or f"{run_name} succeeded", now)
        await self._publish(check, status, outcome, started, finished, run_name)
        if check.remedy is None:
            return
        if outcome.ok:
            if int(status.get("remedyTotalRuns") or 0) > 0:
                reset_remedy(status, "HealthCheck Passed so Remedy is reset")
            return
        await self._remedy(check, obj, status, wake)

    async def _remedy(self, check: Check, obj: dict[str, Any], status: dict[str, Any], wake: list[float]) -> None:
        assert check.remedy is not None
        now = self.clock.now()
        why = remedy.refusal(check.remedy, status, now)
        if why:
            if status.get("remedyStatus") != f"Skipped: {why}":
                await self.recorder.record(obj, "Normal", "RemedySkipped", why, now)
            status["remedyStatus"] = f"Skipped: {why}"
            return
        status["remedyTotalRuns"] = int(status.get("remedyTotalRuns") or 0) + 1
        status["remedyTriggeredAt"] = rfc3339(now)
        action = check.remedy.action
        what = action.describe() if isinstance(action, Action) else f"run a {type(action).__name__[:-3]}"
        if check.remedy.dry_run:
            status["remedyStatus"] = f"DryRun: would {what}"
            await self.recorder.record(obj, "Normal", "RemedyDryRun", f"would {what}", now)
            return
        if not isinstance(action, Action):
            await self._start(check, obj, status, "remedy", action, now, wake)
            return
        try:
            done = await remedy.run_action(self.api, action, now)
        except ApiError as exc:
            record_remedy(status, ok=False, started=now, finished=self.clock.now(), message=f"{what}: {exc.message}")
            await self.recorder.record(obj, "Warning", "RemedyFailed", f"{what}: {exc.message}", now)
            return
        record_remedy(status, ok=True, started=now, finished=self.clock.now(), message=done)
        status["remedyStatus"] = "Succeeded"
        await self.recorder.record(obj, "Normal", "RemedySucceeded", done, now)

    def _adopt(self, check: Check, status: dict[str, Any]) -> None:
        """A run of this check that status does not know (kubevigil stopped between creating and recording it)."""
        finished_at = parse_time(status.get("finishedAt")) or 0.0
        for (kind, ns, name), live in sorted(self._runs.get(check.uid, {}).items(),
                                             key=lambda kv: kv[1]["metadata"].get("creationTimestamp", "")):
            created = parse_time(live["metadata"].get("creationTimestamp")) or 0.0
            done = runs.workflow_finished(live) if kind == "Workflow" else runs.job_finished(live) is not None
            labels = live["metadata"].get("labels") or {}
            purpose = labels.get(LABEL_PURPOSE, "check")
            if runs.is_recorded(status, name) or (done and (purpose == "remedy" or created < finished_at)):
                continue
            uuid = labels.get(runs.KH_UUID_LABEL, "")
            shown = "Kuberhealthy" if uuid else kind
            status["currentRun"] = {"purpose": purpose, "kind": shown, "name": name, "namespace": ns,
                                    "startedAt": _stamp(created), "scheduledAt": _stamp(created),
                                    "deadline": _stamp(created + check.deadline), "uuid": uuid}
            if uuid:
                self._uuids[uuid] = check.key
            log.info("adopted a run", kind=shown, namespace=ns, name=name, check=check.key)
            return

    async def _collect_garbage(self, check: Check, status: dict[str, Any], wake: list[float]) -> None:
        """Delete this check's finished, recorded runs once their ttl has passed."""
        current = (status.get("currentRun") or {}).get("name")
        now = self.clock.now()
        for (kind, ns, name), live in list(self._runs.get(check.uid, {}).items()):
            if name == current:
                continue
            finished = _finished_at(kind, live)
            if finished is None:
                continue
            ttl = _ttl(check, (live["metadata"].get("labels") or {}).get(LABEL_PURPOSE, "check"))
            if finished + ttl <= now:
                await self._delete_run(kind, ns, name)
            else:
                wake.append(finished + ttl)

    async def _delete_run(self, kind: str, ns: str, name: str) -> None:
        with contextlib.suppress(ApiError):
            await self.api.delete(RUN_KINDS[kind], ns, name, propagation_policy="Background")

    # ---- deletion --------------------------------------------------------------------------------------------------

    async def _finalize(self, key: CheckKey, obj: dict[str, Any]) -> None:
        """The check is being deleted: stop its runs, release its RBAC, then let it go."""
        uid = obj["metadata"]["uid"]
        for (kind, ns, name) in list(self._runs.get(uid, {})):
            await self._delete_run(kind, ns, name)
        removed = await access.release(self.api, key)
        if removed:
            log.info("released RBAC", check=key, deleted=removed)
        finalizers = [f for f in obj["metadata"].get("finalizers") or [] if f != FINALIZER]
        with contextlib.suppress(ApiError):
            await self._patch(key, obj, {"metadata": {"finalizers": finalizers or None}})
        self._forget(key)

    # ---- writes ----------------------------------------------------------------------------------------------------

    async def _patch(self, key: CheckKey, obj: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        res = HC_RESOURCES[key.group]
        updated = await self.api.patch(res, key.namespace, key.name, body, "merge")
        self._local[key] = updated
        return dict(updated)

    async def _write_status(self, key: CheckKey, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        res = HC_RESOURCES[key.group]
        try:
            updated = await self.api.patch(res, key.namespace, key.name, {"status": status}, "merge",
                                           subresource="status")
        except ApiError as exc:
            if exc.status == 404:
                return obj  # deleted meanwhile
            raise
        self._local[key] = updated
        return dict(updated)

    async def _publish(self, check: Check, status: dict[str, Any], outcome: Outcome, started: float,
                       finished: float, run_name: str) -> None:
        sinks = self.section.sinks
        if not sinks.records and not sinks.metrics:
            return
        key = check.key
        body = {"cluster": self.ctx.cluster_name, "apiGroup": key.group, "namespace": key.namespace,
                "name": key.name, "result": status["status"], "message": outcome.message, "run": run_name,
                "runner": _runner_name(check), "startedAt": rfc3339(started), "finishedAt": rfc3339(finished),
                "duration": round(finished - started, 3), "consecutiveFailures": status.get("consecutiveFailures"),
                "successCount": status.get("successCount"), "failedCount": status.get("failedCount")}
        record = Record(f"{check.uid}:{status['totalHealthCheckRuns']}", finished, body)
        dims = (("Cluster", self.ctx.cluster_name), ("HealthCheck", key.name), ("Namespace", key.namespace))
        metric = Metric("HealthCheckSucceeded", 1.0 if outcome.ok else 0.0, finished, "None", "gauge", dims)
        for names, item in ((sinks.records, record), (sinks.metrics, metric)):
            for name in names:
                try:
                    async with asyncio.timeout(SINK_PUT_TIMEOUT):  # not wait_for: see runtime.py
                        await self.ctx.outlets[name].put([item])
                except TimeoutError:
                    log.warning("sink queue full; result not queued", sink=name, check=key)

    # ---- runtime surface -------------------------------------------------------------------------------------------

    def routes(self) -> Sequence[web.RouteDef]:
        from kubevigil.roles.checks.api import routes

        return routes(self)

    def find(self, namespace: str, name: str) -> list[tuple[CheckKey, dict[str, Any]]]:
        """Checks of either kind with this namespace and name, with their objects."""
        out = []
        for group in HC_RESOURCES:
            key = CheckKey(group, namespace, name)
            obj = self._current(key)
            if obj is not None:
                out.append((key, obj))
        return out

    def key_for_run(self, uuid: str) -> CheckKey | None:
        """The check whose run in flight has this kuberhealthy run UUID, or None (unknown or finished)."""
        key = self._uuids.get(uuid)
        if key is None:
            return None
        for status in (self.views.get(key) or {}, (self._local.get(key) or {}).get("status") or {}):
            if (status.get("currentRun") or {}).get("uuid") == uuid:
                return key
        return None

    def accept_report(self, key: CheckKey, uuid: str, outcome: Outcome) -> None:
        self.reports[uuid] = outcome
        self.queue.add(key)

    async def trigger(self, key: CheckKey, obj: dict[str, Any]) -> None:
        """Run the check now: the run-now annotation, so the request survives a restart and shows in kubectl."""
        await self._patch(key, obj, {"metadata": {"annotations": {RUN_NOW: rfc3339(self.clock.now())}}})

    def status(self) -> dict[str, Any]:
        return {"checks": [summary(k, s) for k, s in sorted(self.views.items(), key=lambda kv: str(kv[0]))],
                "queue_depth": self.queue.depth, "runs_started": self.runs_started,
                "runs_finished": self.runs_finished}


def summary(key: CheckKey, status: dict[str, Any]) -> dict[str, Any]:
    return {"apiGroup": key.group, "namespace": key.namespace, "name": key.name,
            "status": status.get("status"), "successCount": status.get("successCount"),
            "failedCount": status.get("failedCount"), "consecutiveFailures": status.get("consecutiveFailures"),
            "lastRun": status.get("finishedAt"), "nextRunAt": status.get("nextRunAt"),
            "remedyStatus": status.get("remedyStatus"), "errorMessage": status.get("errorMessage")}


def _rv(obj: dict[str, Any]) -> int:
    try:
        return int(obj["metadata"].get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


def _stamp(ts: float) -> str:
    """RFC 3339 with milliseconds: schedule times must not lose the sub-second part."""
    return rfc3339(ts)[:-1] + f".{int(round(ts % 1, 3) * 1000) % 1000:03d}Z"


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def _shown(kind: str) -> str:
    return "Job" if kind == "Kuberhealthy" else kind


def _runner_name(check: Check) -> str:
    runner = check.runner
    if isinstance(runner, ProbeRun):
        return f"probe/{runner.name}"
    return {"WorkflowRun": "workflow", "JobRun": "job", "KuberhealthyRun": "kuberhealthy"}[type(runner).__name__]


def _finished_at(kind: str, live: dict[str, Any]) -> float | None:
    status = live.get("status") or {}
    if kind == "Workflow":
        return parse_time(status.get("finishedAt")) if runs.workflow_finished(live) else None
    if runs.job_finished(live) is None:
        return None
    stamps = [c.get("lastTransitionTime") for c in status.get("conditions") or []]
    return max((t for t in (parse_time(s) for s in [status.get("completionTime"), *stamps]) if t is not None),
               default=None)


def _ttl(check: Check, purpose: str) -> float:
    runner: Any = check.runner
    if purpose == "remedy" and check.remedy is not None:
        runner = check.remedy.action
    ttl = getattr(runner, "ttl", None)
    return float(ttl) if ttl is not None else 0.0
