"""A HealthCheck's status: every active-monitor field plus kubevigil's, and how a finished run changes it.

The model documents the schema (it generates the CRD's status part); the controller reads and writes status as the
plain dict the API returns, through the functions below, so a status written by another version is never rejected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from kubevigil.core.model import Model

Result = Literal["Succeeded", "Failed"]


class HistoryEntry(Model):
    time: str = Field(description="When the run finished (RFC 3339)")
    result: Result
    duration: float = Field(description="Seconds the run took")
    message: str = Field("", description="One line: why it failed, or what it found")
    run: str = Field("", description="Workflow/Job name, or the probe")


class CurrentRun(Model):
    """The run in flight, so a restarted controller adopts it instead of starting another."""

    purpose: Literal["check", "remedy"]
    kind: str = Field(description="Workflow, Job or Probe")
    name: str
    namespace: str
    startedAt: str
    scheduledAt: str = Field("", description="The schedule slot this run belongs to")
    deadline: str = Field(description="When the run is stopped and counted failed")
    uuid: str = Field("", description="kuberhealthy run UUID (KH_RUN_UUID)")


class HealthCheckStatus(Model):
    # active-monitor's fields, same names and meaning
    status: str | None = Field(None, description="Succeeded, Failed, Running, Suspended, Stopped or Invalid")
    errorMessage: str | None = None
    startedAt: str | None = None
    finishedAt: str | None = None
    lastFailedAt: str | None = None
    lastFailedWorkflow: str | None = None
    lastSuccessfulWorkflow: str | None = None
    successCount: int | None = None
    failedCount: int | None = None
    totalHealthCheckRuns: int | None = None
    remedyStatus: str | None = None
    remedyErrorMessage: str | None = None
    remedyTriggeredAt: str | None = None
    remedyStartedAt: str | None = None
    remedyFinishedAt: str | None = None
    remedyLastFailedAt: str | None = None
    remedySuccessCount: int | None = None
    remedyFailedCount: int | None = None
    remedyTotalRuns: int | None = None
    # kubevigil's
    specFormat: str | None = Field(None, description="Which spec this check came from, and who runs it")
    observedGeneration: int | None = None
    consecutiveFailures: int | None = None
    lastRunDuration: float | None = Field(None, description="Seconds the last run took")
    lastSuccessAt: str | None = None
    nextRunAt: str | None = Field(None, description="When the next run starts (kept across restarts)")
    currentRun: CurrentRun | None = None
    history: list[HistoryEntry] | None = Field(None, description="The last runs, newest first")
    warnings: list[str] | None = Field(None, description="Spec keys ignored, and why")


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def record_result(status: dict[str, Any], *, ok: bool, started: float, finished: float, message: str, run: str,
                  history_limit: int) -> None:
    """Apply one finished check run to `status` (in place), the way active-monitor counts, plus kubevigil's fields."""
    status["status"] = "Succeeded" if ok else "Failed"
    status["startedAt"], status["finishedAt"] = rfc3339(started), rfc3339(finished)
    status["lastRunDuration"] = round(finished - started, 3)
    if ok:
        status["successCount"] = int(status.get("successCount") or 0) + 1
        status["lastSuccessfulWorkflow"] = run
        status["lastSuccessAt"] = rfc3339(finished)
        status["consecutiveFailures"] = 0
        status["errorMessage"] = ""
    else:
        status["failedCount"] = int(status.get("failedCount") or 0) + 1
        status["lastFailedWorkflow"] = run
        status["lastFailedAt"] = rfc3339(finished)
        status["consecutiveFailures"] = int(status.get("consecutiveFailures") or 0) + 1
        status["errorMessage"] = message
    status["totalHealthCheckRuns"] = int(status.get("successCount") or 0) + int(status.get("failedCount") or 0)
    entry = {"time": rfc3339(finished), "result": status["status"], "duration": status["lastRunDuration"],
             "message": message, "run": run}
    status["history"] = ([entry] + list(status.get("history") or []))[:history_limit]


def record_remedy(status: dict[str, Any], *, ok: bool, started: float, finished: float, message: str) -> None:
    """Apply one finished remedy run to `status` (in place)."""
    status["remedyStatus"] = "Succeeded" if ok else "Failed"
    status["remedyStartedAt"], status["remedyFinishedAt"] = rfc3339(started), rfc3339(finished)
    key = "remedySuccessCount" if ok else "remedyFailedCount"
    status[key] = int(status.get(key) or 0) + 1
    if ok:
        status["remedyErrorMessage"] = ""
    else:
        status["remedyErrorMessage"] = message
        status["remedyLastFailedAt"] = rfc3339(finished)


def reset_remedy(status: dict[str, Any], why: str) -> None:
    """Forget past remedy runs (a pass, or resetInterval elapsed), as active-monitor does."""
    for key in ("remedyTotalRuns", "remedySuccessCount", "remedyFailedCount"):
        status[key] = 0
    for key in ("remedyStartedAt", "remedyFinishedAt", "remedyLastFailedAt"):
        status[key] = None
    status["remedyStatus"] = why
