"""Argo Workflows, simulated: once the Workflow CRD is applied, Workflows go Pending -> Running -> Succeeded|Failed.

What a Workflow plays comes from `sim.kubevigil.io/*` annotations on the Workflow or on its entrypoint template's
metadata (the Workflow's win): `scenario` (absent or `healthy`: succeed; `job-fail` or `workflow-fail`: fail; `hang`:
run until deleted or `activeDeadlineSeconds`), `duration` (how long it runs, default 2s) and `output` (the value of
an output parameter named `result`, e.g. active-monitor's `{"metrics": [...]}`) and `requires`
(`Deployment/<namespace>/<name>`: the Workflow fails unless that Deployment has an available replica, as a
synthetic availability check would). Template output parameters with a `value` or `valueFrom.default` are reported
too.
"""

from __future__ import annotations

import copy
from typing import Any

from kubevigil.core.clock import Clock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.eventrecorder import NORMAL, WARNING, EventRecorder, Source, rfc3339
from kubevigil.sim.pods import is_terminating, parse_time
from kubevigil.sim.scenarios import DURATION, PREFIX, SCENARIO, ScenarioError, parse_seconds
from kubevigil.sim.writes import write_status

OUTPUT = PREFIX + "output"
REQUIRES = PREFIX + "requires"
WORKFLOW_CONTROLLER = Source("workflow-controller")
SUCCEED, FAIL, HANG = "healthy", "fail", "hang"
_OUTCOMES = {"": SUCCEED, "healthy": SUCCEED, "job-fail": FAIL, "workflow-fail": FAIL, "hang": HANG}
DEFAULT_DURATION = 2.0
FINISHED = ("Succeeded", "Failed", "Error")


class WorkflowController:
    """Steps every Workflow one phase at a time; does nothing while the Workflow CRD is not served."""

    def __init__(self, store: Any, clock: Clock, recorder: EventRecorder) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder

    def sync(self) -> None:
        try:
            res = self._store.resource("argoproj.io/v1alpha1", "Workflow")
        except KeyError:
            return
        for wf in self._store.list(res):
            phase = (wf.get("status") or {}).get("phase", "")
            if phase not in FINISHED and not is_terminating(wf):
                self._step(res, wf, phase)

    def _step(self, res: Any, wf: dict[str, Any], phase: str) -> None:
        now = self._clock.now()
        status = copy.deepcopy(wf.get("status") or {})
        name = wf["metadata"]["name"]
        if not phase:
            status.update(phase="Pending", startedAt=rfc3339(now), progress="0/1")
            self._recorder.record(wf, WORKFLOW_CONTROLLER, NORMAL, "WorkflowRunning", "Workflow Running")
        elif phase == "Pending":
            status["phase"] = "Running"
            status["nodes"] = {name: _node(name, name, "Running", status["startedAt"])}
        else:
            self._finish_if_due(wf, status, now)
        write_status(self._store, res, wf, status)

    def _finish_if_due(self, wf: dict[str, Any], status: dict[str, Any], now: float) -> None:
        where = f"Workflow {wf['metadata'].get('namespace')}/{wf['metadata']['name']}"
        try:
            outcome, duration = _play(wf, where)
        except ScenarioError as exc:
            self._end(wf, status, now, "Error", str(exc))
            return
        started = parse_time(status["startedAt"])
        deadline = (wf.get("spec") or {}).get("activeDeadlineSeconds")
        if deadline is not None and now - started >= float(deadline):
            self._end(wf, status, now, "Failed", "Max duration limit exceeded")
        elif outcome != HANG and now - started >= duration:
            missing = self._missing_requirement(wf)
            if outcome == SUCCEED and not missing:
                self._end(wf, status, now, "Succeeded", "")
            else:
                self._end(wf, status, now, "Failed", missing or "child 'main' failed: Error (exit code 1)")

    def _missing_requirement(self, wf: dict[str, Any]) -> str:
        """Why the `requires` annotation is not met ('' when it is, or when there is none)."""
        notes = {**_template_annotations(wf), **((wf["metadata"].get("annotations")) or {})}
        if REQUIRES not in notes:
            return ""
        kind, _, rest = notes[REQUIRES].partition("/")
        namespace, _, name = rest.partition("/")
        if kind != "Deployment" or not name:
            return f"annotation {REQUIRES}={notes[REQUIRES]!r} is not Deployment/<namespace>/<name>"
        deploy = self._store.try_get(by_kind("Deployment"), namespace, name)
        if deploy is None:
            return f"Deployment {namespace}/{name} not found"
        if int((deploy.get("status") or {}).get("availableReplicas") or 0) < 1:
            return f"Deployment {namespace}/{name} has no available replica"
        return ""

    def _end(self, wf: dict[str, Any], status: dict[str, Any], now: float, phase: str, message: str) -> None:
        name = wf["metadata"]["name"]
        status.update(phase=phase, finishedAt=rfc3339(now), progress="1/1" if phase == "Succeeded" else "0/1")
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
        node = _node(name, name, phase, status["startedAt"], rfc3339(now), message)
        params = _output_parameters(wf)
        if params and phase == "Succeeded":
            node["outputs"] = {"parameters": params}
            status["outputs"] = {"parameters": params}
        status["nodes"] = {name: node}
        if phase == "Succeeded":
            self._recorder.record(wf, WORKFLOW_CONTROLLER, NORMAL, "WorkflowSucceeded", "Workflow completed")
        else:
            self._recorder.record(wf, WORKFLOW_CONTROLLER, WARNING, "WorkflowFailed", message)


def _play(wf: dict[str, Any], where: str) -> tuple[str, float]:
    """(outcome, duration) from the Workflow's annotations, else its entrypoint template's."""
    notes = {**_template_annotations(wf), **((wf["metadata"].get("annotations")) or {})}
    name = notes.get(SCENARIO, "").strip()
    if name not in _OUTCOMES:
        raise ScenarioError(f"{where}: annotation {SCENARIO}={name!r} is not one of "
                            f"{', '.join(k for k in _OUTCOMES if k)}")
    duration = parse_seconds(notes[DURATION], where, DURATION) if DURATION in notes else DEFAULT_DURATION
    return _OUTCOMES[name], duration


def _entrypoint(wf: dict[str, Any]) -> dict[str, Any]:
    spec = wf.get("spec") or {}
    templates = spec.get("templates") or []
    entry = spec.get("entrypoint")
    return next((t for t in templates if t.get("name") == entry), templates[0] if templates else {})


def _template_annotations(wf: dict[str, Any]) -> dict[str, str]:
    return dict((_entrypoint(wf).get("metadata") or {}).get("annotations") or {})


def _output_parameters(wf: dict[str, Any]) -> list[dict[str, str]]:
    params = []
    for p in (_entrypoint(wf).get("outputs") or {}).get("parameters") or []:
        value = p.get("value", (p.get("valueFrom") or {}).get("default"))
        if value is not None:
            params.append({"name": p["name"], "value": str(value)})
    notes = {**_template_annotations(wf), **((wf["metadata"].get("annotations")) or {})}
    if OUTPUT in notes:
        params.append({"name": "result", "value": notes[OUTPUT]})
    return params


def _node(node_id: str, name: str, phase: str, started: str, finished: str | None = None,
          message: str = "") -> dict[str, Any]:
    node = {"id": node_id, "name": name, "displayName": name, "type": "Pod", "phase": phase, "startedAt": started}
    if finished:
        node["finishedAt"] = finished
    if message:
        node["message"] = message
    return node
