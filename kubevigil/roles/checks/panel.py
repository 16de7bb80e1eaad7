"""The checks role's panel on the web page: every HealthCheck's last result, recent runs, next run and remedy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from kubevigil.roles.checks.check import CheckKey
from kubevigil.roles.checks.controller import ChecksRole
from kubevigil.roles.checks.status import parse_time

RUNS_SHOWN = 20


async def panel(role: ChecksRole, query: Mapping[str, str]) -> dict[str, Any] | None:
    """None while no HealthCheck is known; failing checks first."""
    if not role.views:
        return None
    checks = [_check(key, status) for key, status in role.views.items()]
    checks.sort(key=lambda c: (-(c["consecutive_failures"] or 0), c["namespace"], c["name"], c["group"]))
    token = role.section.api_token
    return {
        "now": role.clock.now(),
        "checks": checks,
        "failing": sum(1 for c in checks if c["status"] == "Failed"),
        "run_now": {"enabled": token is not None,
                    "why": "" if token is not None else "checks.api_token is not configured: run-now is refused"},
    }


def _check(key: CheckKey, status: Mapping[str, Any]) -> dict[str, Any]:
    current = status.get("currentRun") or None
    history = list(status.get("history") or [])[:RUNS_SHOWN]
    return {
        "group": key.group, "namespace": key.namespace, "name": key.name,
        "status": status.get("status"), "message": status.get("errorMessage") or "",
        "consecutive_failures": status.get("consecutiveFailures"),
        "succeeded": status.get("successCount") or 0, "failed": status.get("failedCount") or 0,
        "last_run": parse_time(status.get("finishedAt")), "duration": status.get("lastRunDuration"),
        "next_run": parse_time(status.get("nextRunAt")),
        "running": None if current is None else {"purpose": current.get("purpose"), "kind": current.get("kind"),
                                                 "since": parse_time(current.get("startedAt"))},
        "remedy": {"status": status.get("remedyStatus") or "", "runs": status.get("remedyTotalRuns") or 0,
                   "succeeded": status.get("remedySuccessCount") or 0,
                   "failed": status.get("remedyFailedCount") or 0,
                   "triggered": parse_time(status.get("remedyTriggeredAt")),
                   "message": status.get("remedyErrorMessage") or ""},
        "runs": [{"time": parse_time(h.get("time")), "result": h.get("result"), "duration": h.get("duration"),
                  "message": h.get("message") or "", "run": h.get("run") or ""} for h in reversed(history)],
        "run_url": f"/api/checks/{quote(key.namespace, safe='')}/{quote(key.name, safe='')}/run",
    }
