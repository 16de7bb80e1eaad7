"""HealthCheck objects for tests: kubevigil.io/v1 with a Workflow runner, and active-monitor ones."""

from __future__ import annotations

from typing import Any

import yaml

HELLO = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {"generateName": "hello-"},
    "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {
        "image": "busybox", "command": ["echo", "hello"]}}]},
}


def workflow_source(scenario: str = "", duration: str = "1s", output: str = "") -> str:
    wf = yaml.safe_load(yaml.safe_dump(HELLO))
    notes = {"sim.kubevigil.io/duration": duration}
    if scenario:
        notes["sim.kubevigil.io/scenario"] = scenario
    if output:
        notes["sim.kubevigil.io/output"] = output
    wf["metadata"]["annotations"] = notes
    return yaml.safe_dump(wf)


def kv_check(name: str, namespace: str, schedule: dict[str, Any], *, scenario: str = "", duration: str = "1s",
             **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"schedule": schedule, "timeout": spec.pop("timeout", "30s"),
                     "workflow": {"source": {"inline": workflow_source(scenario, duration)}}, **spec}}


def am_check(name: str, namespace: str, *, repeat: int, scenario: str = "", remedy: bool = False,
             **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "repeatAfterSec": repeat, "level": "namespace",
        "workflow": {"generateName": f"{name}-", "workflowtimeout": 30, "resource": {
            "namespace": namespace, "serviceAccount": f"{name}-sa",
            "source": {"inline": workflow_source(scenario)}}},
        **spec,
    }
    if remedy:
        body["remedyworkflow"] = {"generateName": f"{name}-remedy-", "resource": {
            "namespace": namespace, "serviceAccount": f"{name}-remedy-sa",
            "source": {"inline": workflow_source()}}}
    return {"apiVersion": "activemonitor.keikoproj.io/v1alpha1", "kind": "HealthCheck",
            "metadata": {"name": name, "namespace": namespace}, "spec": body}
