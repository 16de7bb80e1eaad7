"""The emulator's Argo Workflows: the real Workflow CRD applied, Workflows step through their phases by scenario."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from kubevigil.core.clock import ManualClock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.store import Store
from kubevigil.sim.workloads import WorkloadSimulator
from tests.anchors import ANCHORS

CRD = by_kind("CustomResourceDefinition")


def load(path: str) -> dict[str, Any]:
    return yaml.safe_load((ANCHORS / path).read_text())


@pytest.fixture
def world() -> tuple[Store, WorkloadSimulator, ManualClock]:
    clock = ManualClock()
    store = Store(clock)
    store.create(CRD, load("argo-workflows/argoproj.io_workflows.yaml"))
    return store, WorkloadSimulator(store, clock), clock


async def run(sim: WorkloadSimulator, clock: ManualClock, seconds: int) -> None:
    for _ in range(seconds):
        sim.reconcile_once()
        await clock.advance(1)


def submit(store: Store, wf: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    res = store.resource("argoproj.io/v1alpha1", "Workflow")
    wf = {**wf, "metadata": {**wf["metadata"], "namespace": "default",
                              "annotations": {**wf["metadata"].get("annotations", {}), **(annotations or {})}}}
    return store.create(res, wf)


def current(store: Store, wf: dict[str, Any]) -> dict[str, Any]:
    res = store.resource("argoproj.io/v1alpha1", "Workflow")
    return store.get(res, "default", wf["metadata"]["name"])


async def test_an_anchor_workflow_succeeds_through_its_phases(world: Any) -> None:
    store, sim, clock = world
    wf = submit(store, load("argo-workflows/hello-world.yaml"))
    phases = []
    for _ in range(6):
        sim.reconcile_once()
        phases.append((current(store, wf).get("status") or {}).get("phase"))
        await clock.advance(1)
    assert phases[:2] == ["Pending", "Running"] and phases[-1] == "Succeeded"
    status = current(store, wf)["status"]
    assert status["startedAt"] <= status["finishedAt"]
    assert next(iter(status["nodes"].values()))["phase"] == "Succeeded"


async def test_fail_and_output_scenarios(world: Any) -> None:
    store, sim, clock = world
    failing = submit(store, load("argo-workflows/steps.yaml"), {"sim.kubevigil.io/scenario": "workflow-fail"})
    metrics = json.dumps({"metrics": [{"name": "latency", "value": 1.5, "metrictype": "gauge"}]})
    ok = submit(store, load("argo-workflows/output-parameter.yaml"), {"sim.kubevigil.io/output": metrics})
    await run(sim, clock, 6)
    assert current(store, failing)["status"]["phase"] == "Failed"
    assert current(store, failing)["status"]["message"]
    params = current(store, ok)["status"]["outputs"]["parameters"]
    assert {"name": "result", "value": metrics} in params


async def test_hang_until_the_active_deadline(world: Any) -> None:
    store, sim, clock = world
    wf = load("argo-workflows/hello-world.yaml")
    wf["spec"]["activeDeadlineSeconds"] = 5
    hung = submit(store, wf, {"sim.kubevigil.io/scenario": "hang"})
    await run(sim, clock, 3)
    assert current(store, hung)["status"]["phase"] == "Running"
    await run(sim, clock, 5)
    assert current(store, hung)["status"]["phase"] == "Failed"


async def test_a_scenario_on_the_template_and_an_unknown_one(world: Any) -> None:
    store, sim, clock = world
    wf = load("argo-workflows/hello-world.yaml")
    wf["spec"]["templates"][0]["metadata"] = {"annotations": {"sim.kubevigil.io/scenario": "job-fail"}}
    by_template = submit(store, wf)
    odd = submit(store, load("argo-workflows/hello-world.yaml"), {"sim.kubevigil.io/scenario": "nope"})
    await run(sim, clock, 6)
    assert current(store, by_template)["status"]["phase"] == "Failed"
    assert current(store, odd)["status"]["phase"] == "Error"
    assert "not one of" in current(store, odd)["status"]["message"]


def test_nothing_happens_without_the_crd() -> None:
    clock = ManualClock()
    store = Store(clock)
    WorkloadSimulator(store, clock).reconcile_once()  # no Workflow resource served: no error


async def test_requires_an_available_deployment(world: Any) -> None:
    store, sim, clock = world
    wf = submit(store, load("argo-workflows/hello-world.yaml"), {"sim.kubevigil.io/requires": "Deployment/default/x"})
    await run(sim, clock, 6)
    assert current(store, wf)["status"]["message"] == "Deployment default/x not found"
