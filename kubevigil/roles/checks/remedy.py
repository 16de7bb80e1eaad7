"""Remedies: whether one may run now (each limit on its own) and the built-in actions.

`runsLimit` stops remedies after N runs until a pass (or `resetInterval` after the last one); `resetInterval` alone
only resets the count; `cooldown` spaces runs. active-monitor ignored remedyRunsLimit unless remedyResetInterval was
also set; here each is honoured alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import by_kind
from kubevigil.roles.checks.check import Action, Remedy
from kubevigil.roles.checks.status import parse_time, reset_remedy

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def due_reset(remedy: Remedy, status: dict[str, Any], now: float) -> bool:
    """True when resetInterval has passed since the last remedy run and there are runs to forget."""
    last = parse_time(status.get("remedyTriggeredAt"))
    return bool(remedy.reset_interval and last is not None and int(status.get("remedyTotalRuns") or 0) > 0
                and now - last >= remedy.reset_interval)


def refusal(remedy: Remedy, status: dict[str, Any], now: float) -> str:
    """Why the remedy may not run now ('' when it may); resets the count first if resetInterval has passed."""
    if due_reset(remedy, status, now):
        reset_remedy(status, "RemedyResetInterval elapsed so Remedy is reset")
    total = int(status.get("remedyTotalRuns") or 0)
    if remedy.runs_limit is not None and total >= remedy.runs_limit:
        return f"remedyRunsLimit {remedy.runs_limit} reached; waiting for a pass" + (
            f" or {remedy.reset_interval:g}s after the last remedy" if remedy.reset_interval else "")
    last = parse_time(status.get("remedyTriggeredAt"))
    if remedy.cooldown and last is not None and now - last < remedy.cooldown:
        return f"cooldown: last remedy {now - last:.0f}s ago, cooldown {remedy.cooldown:g}s"
    return ""


async def run_action(api: Any, action: Action, now: float) -> str:
    """Do a built-in remedy; returns one line saying what was done. Raises ApiError when the API refuses."""
    if action.name == "rollout-restart":
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        await api.patch(by_kind("Deployment"), action.namespace, action.target, body, "strategic")
        return f"restarted Deployment {action.namespace}/{action.target}"
    if action.name == "scale":
        await api.patch(by_kind(action.kind), action.namespace, action.target,
                        {"spec": {"replicas": action.replicas}}, "merge")
        return f"scaled {action.kind} {action.namespace}/{action.target} to {action.replicas}"
    pods, _ = await api.list(by_kind("Pod"), action.namespace, label_selector=action.target)
    deleted = 0
    for pod in pods:
        try:
            await api.delete(by_kind("Pod"), action.namespace, pod["metadata"]["name"])
            deleted += 1
        except ApiError as exc:
            if exc.status != 404:
                raise
    return f"deleted {deleted} pod(s) in {action.namespace} matching {action.target}"
