"""The job and cronjob controllers: Jobs run pods to completion or backoffLimit; CronJobs start Jobs on schedule."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.controller import PodOwningController
from kubevigil.sim.eventrecorder import (
    CRONJOB_CONTROLLER,
    JOB_CONTROLLER,
    NORMAL,
    WARNING,
    EventRecorder,
    rfc3339,
)
from kubevigil.sim.pods import (
    POD,
    condition,
    is_ready,
    is_terminating,
    owned_by,
    owner_reference,
    parse_time,
    pod_from_template,
    random_suffix,
)
from kubevigil.sim.writes import delete_object, write_status

JOB = by_kind("Job")
CRONJOB = by_kind("CronJob")
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
# The controller never starts more than this many missed runs late, as the real one gives up after 100.
MAX_MISSED = 100


def job_finished(job: dict) -> str | None:
    """'Complete' or 'Failed' once the Job has that condition True."""
    for type_ in ("Complete", "Failed"):
        cond = condition(job, type_)
        if cond and cond.get("status") == "True":
            return type_
    return None


class JobController(PodOwningController):
    def sync(self) -> None:
        pods = self._store.list(POD)
        for job in self._store.list(JOB):
            if not is_terminating(job) and not job_finished(job) and not job["spec"].get("suspend"):
                self._sync_one(job, owned_by(pods, job))

    def _sync_one(self, job: dict, pods: list[dict]) -> None:
        spec = job["spec"]
        completions = int(spec.get("completions") or 1)
        parallelism = int(spec.get("parallelism") or 1)
        backoff_limit = int(spec.get("backoffLimit", 6))
        succeeded = sum(1 for p in pods if _phase(p) == "Succeeded")
        failed = sum(1 for p in pods if _phase(p) == "Failed") + _restarts_on_failure(job, pods)
        active = [p for p in pods if _phase(p) not in ("Succeeded", "Failed") and not is_terminating(p)]
        now = self._clock.now()
        status = copy.deepcopy(job.get("status") or {})
        status.setdefault("startTime", rfc3339(now))
        status.setdefault("uncountedTerminatedPods", {})
        if failed > backoff_limit:
            for pod in active:
                self._stop_pod(pod)
            active = []
            self._finish(job, status, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif succeeded >= completions:
            self._finish(job, status, "Complete", "CompletionsReached", "Reached expected number of succeeded pods")
        else:
            for _ in range(min(parallelism, completions - succeeded) - len(active)):
                active.append(self._create_pod(job))
        status.update({"active": len(active), "succeeded": succeeded, "failed": failed,
                       "ready": sum(1 for p in active if is_ready(p)), "terminating": 0})
        for key in ("active", "succeeded", "failed"):
            if not status[key]:
                del status[key]
        write_status(self._store, JOB, job, status)

    def _finish(self, job: dict, status: dict, outcome: str, reason: str, message: str) -> None:
        now_text = rfc3339(self._clock.now())
        target = "SuccessCriteriaMet" if outcome == "Complete" else "FailureTarget"
        status["conditions"] = [
            {"type": target, "status": "True", "reason": reason, "message": message,
             "lastProbeTime": now_text, "lastTransitionTime": now_text},
            {"type": outcome, "status": "True", "reason": reason, "message": message,
             "lastProbeTime": now_text, "lastTransitionTime": now_text},
        ]
        if outcome == "Complete":
            status["completionTime"] = now_text
            self._recorder.record(job, JOB_CONTROLLER, NORMAL, "Completed", "Job completed")
        else:
            self._recorder.record(job, JOB_CONTROLLER, WARNING, reason, message)

    def _create_pod(self, job: dict) -> dict:
        meta = job["metadata"]
        labels = {"batch.kubernetes.io/controller-uid": meta["uid"], "batch.kubernetes.io/job-name": meta["name"],
                  "controller-uid": meta["uid"], "job-name": meta["name"]}
        name = f"{meta['name']}-{random_suffix(self._rng)}"
        pod = pod_from_template(job["spec"]["template"], job, name, labels)
        pod["spec"]["restartPolicy"] = job["spec"]["template"].get("spec", {}).get("restartPolicy", "Never")
        stored = self._store.create(POD, pod)
        self._recorder.record(job, JOB_CONTROLLER, NORMAL, "SuccessfulCreate", f"Created pod: {name}")
        return stored


def _phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase", "Pending")


def _restarts_on_failure(job: dict, pods: list[dict]) -> int:
    """With restartPolicy OnFailure the kubelet restarts in place; the Job counts those restarts as failures."""
    if (job["spec"]["template"].get("spec") or {}).get("restartPolicy") != "OnFailure":
        return 0
    return sum(c.get("restartCount", 0) for p in pods for c in (p.get("status") or {}).get("containerStatuses") or [])


class CronJobController:
    def __init__(self, store: Any, clock: Clock, recorder: EventRecorder) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self._first_seen: dict[str, float] = {}

    def sync(self) -> None:
        jobs = self._store.list(JOB)
        for cj in self._store.list(CRONJOB):
            if not is_terminating(cj):
                self._sync_one(cj, owned_by(jobs, cj))

    def _sync_one(self, cj: dict, jobs: list[dict]) -> None:
        now = self._clock.now()
        status = copy.deepcopy(cj.get("status") or {})
        self._note_finished(cj, jobs, status)
        jobs = self._trim_history(cj, jobs)
        if not cj["spec"].get("suspend"):
            due = self._due(cj, status, now)
            if due is not None:
                job = self._start(cj, due, jobs)
                if job is not None:
                    jobs.append(job)
                status["lastScheduleTime"] = rfc3339(due)
        active = [j for j in jobs if not job_finished(j)]
        status["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"],
                             "namespace": j["metadata"]["namespace"], "uid": j["metadata"]["uid"],
                             "resourceVersion": j["metadata"].get("resourceVersion", "")} for j in active]
        if not status["active"]:
            del status["active"]
        write_status(self._store, CRONJOB, cj, status)

    def _due(self, cj: dict, status: dict, now: float) -> float | None:
        """The latest schedule time in (last run, now], the one the real controller would start."""
        uid = cj["metadata"]["uid"]
        since = parse_time(status["lastScheduleTime"]) if status.get("lastScheduleTime") else \
            self._first_seen.setdefault(uid, now)
        tz = ZoneInfo(cj["spec"]["timeZone"]) if cj["spec"].get("timeZone") else UTC
        times = croniter(cj["spec"]["schedule"], datetime.fromtimestamp(since, tz))
        latest = None
        for _ in range(MAX_MISSED):
            nxt = times.get_next(float)
            if nxt > now:
                break
            latest = nxt
        deadline = cj["spec"].get("startingDeadlineSeconds")
        if latest is not None and deadline is not None and now - latest > int(deadline):
            return None
        return latest

    def _start(self, cj: dict, due: float, jobs: list[dict]) -> dict | None:
        policy = cj["spec"].get("concurrencyPolicy", "Allow")
        active = [j for j in jobs if not job_finished(j)]
        if active and policy == "Forbid":
            return None
        if active and policy == "Replace":
            for job in active:
                delete_object(self._store, JOB, job["metadata"]["namespace"], job["metadata"]["name"])
                self._recorder.record(cj, CRONJOB_CONTROLLER, NORMAL, "SuccessfulDelete",
                                      f"Deleted job {job['metadata']['name']}")
        template = copy.deepcopy(cj["spec"]["jobTemplate"])
        name = f"{cj['metadata']['name']}-{int(due // 60)}"
        meta = template.get("metadata") or {}
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": name, "namespace": cj["metadata"]["namespace"],
                            "labels": dict(meta.get("labels") or {}),
                            "annotations": {**(meta.get("annotations") or {}),
                                            SCHEDULED_AT: datetime.fromtimestamp(due, UTC)
                                            .strftime("%Y-%m-%dT%H:%M:%SZ")},
                            "ownerReferences": [owner_reference(cj)]},
               "spec": template.get("spec") or {}}
        if self._store.try_get(JOB, job["metadata"]["namespace"], name) is not None:
            return None
        stored = self._store.create(JOB, job)
        self._recorder.record(cj, CRONJOB_CONTROLLER, NORMAL, "SuccessfulCreate", f"Created job {name}")
        return stored

    def _note_finished(self, cj: dict, jobs: list[dict], status: dict) -> None:
        seen = {ref.get("uid") for ref in status.get("active") or []}
        for job in jobs:
            outcome = job_finished(job)
            if outcome and job["metadata"]["uid"] in seen:
                self._recorder.record(cj, CRONJOB_CONTROLLER, NORMAL, "SawCompletedJob",
                                      f"Saw completed job: {job['metadata']['name']}, status: {outcome}")
                completion = (job.get("status") or {}).get("completionTime")
                if outcome == "Complete" and completion:
                    status["lastSuccessfulTime"] = max(completion, status.get("lastSuccessfulTime", ""))

    def _trim_history(self, cj: dict, jobs: list[dict]) -> list[dict]:
        """Delete the oldest finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit."""
        keep = list(jobs)
        for outcome, key, default in (("Complete", "successfulJobsHistoryLimit", 3),
                                      ("Failed", "failedJobsHistoryLimit", 1)):
            done = sorted((j for j in jobs if job_finished(j) == outcome),
                          key=lambda j: (j["metadata"].get("creationTimestamp", ""), j["metadata"]["name"]))
            limit = int(cj["spec"].get(key, default))
            for job in done[: max(0, len(done) - limit)]:
                delete_object(self._store, JOB, job["metadata"]["namespace"], job["metadata"]["name"])
                self._recorder.record(cj, CRONJOB_CONTROLLER, NORMAL, "SuccessfulDelete",
                                      f"Deleted job {job['metadata']['name']}")
                keep.remove(job)
        return keep
