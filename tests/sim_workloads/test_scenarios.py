"""Scenario annotations: crashloop, imagepull, unready, job-fail, on workloads and bare pods."""

from __future__ import annotations

import pytest

from kubevigil.core.clock import ManualClock
from kubevigil.sim.scenarios import ScenarioError, scenario_of
from kubevigil.sim.store import Store
from kubevigil.sim.workloads import WorkloadSimulator
from tests.sim_workloads.helpers import DEPLOYMENT, POD, condition, deployment, events_about, pods_of, run_for

SCENARIO = "sim.kubevigil.io/scenario"


async def test_crashloop_restarts_with_growing_backoff(store: Store, sim: WorkloadSimulator,
                                                       clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("checkout", 1, annotations={SCENARIO: "crashloop"}))
    await run_for(sim, clock, 10)  # start 1 s, crash 2 s, restart at once 3 s, crash 4 s, back-off 10 s
    (pod,) = pods_of(store, "checkout")
    name = pod["metadata"]["name"]
    (cs,) = pod["status"]["containerStatuses"]
    assert cs["restartCount"] == 1 and not cs["ready"]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=app pod=")
    assert cs["lastState"]["terminated"]["reason"] == "Error" and cs["lastState"]["terminated"]["exitCode"] == 1
    assert pod["status"]["phase"] == "Running"
    (backoff,) = events_about(store, name, "BackOff")
    first_count = backoff["count"]
    assert backoff["type"] == "Warning"
    assert backoff["message"] == f"Back-off restarting failed container app in pod {name}_default({pod['metadata']['uid']})"
    assert backoff["source"] == {"component": "kubelet", "host": pod["spec"]["nodeName"]}
    await run_for(sim, clock, 120, tick=2)
    (pod,) = pods_of(store, "checkout")
    (cs,) = pod["status"]["containerStatuses"]
    assert cs["restartCount"] >= 4
    (backoff,) = events_about(store, name, "BackOff")
    assert backoff["count"] > first_count and backoff["lastTimestamp"] > backoff["firstTimestamp"]
    (started,) = events_about(store, name, "Started")
    assert started["count"] == cs["restartCount"] + 1
    d = store.get(DEPLOYMENT, "default", "checkout")
    assert d["status"]["unavailableReplicas"] == 1 and condition(d, "Available")["status"] == "False"


async def test_imagepull_goes_from_errimagepull_to_imagepullbackoff(store: Store, sim: WorkloadSimulator,
                                                                  clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("payments", 1, image="ghcr.io/x/payments:nope",
                                        annotations={SCENARIO: "imagepull"}))
    sim.reconcile_once()
    await clock.advance(1)
    sim.reconcile_once()
    (pod,) = pods_of(store, "payments")
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"
    assert pod["status"]["phase"] == "Pending"
    await run_for(sim, clock, 45)
    (pod,) = pods_of(store, "payments")
    name = pod["metadata"]["name"]
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
    failed = {e["message"]: e for e in events_about(store, name, "Failed")}
    assert failed["Error: ErrImagePull"]["count"] >= 2  # pulled again after the 10 s back-off
    assert failed["Error: ImagePullBackOff"]["type"] == "Warning"
    assert any(m.startswith('Failed to pull image "ghcr.io/x/payments:nope": rpc error: code = NotFound')
               for m in failed)
    (backoff,) = events_about(store, name, "BackOff")
    assert backoff["type"] == "Normal" and backoff["message"] == 'Back-off pulling image "ghcr.io/x/payments:nope"'
    assert events_about(store, name, "Pulling")[0]["count"] >= 2
    assert events_about(store, name, "Started") == []


async def test_unready_pods_run_but_fail_readiness(store: Store, sim: WorkloadSimulator,
                                                   clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("cart", 2, annotations={SCENARIO: "unready"}))
    await run_for(sim, clock, 35)
    for pod in pods_of(store, "cart"):
        assert pod["status"]["phase"] == "Running"
        assert "running" in pod["status"]["containerStatuses"][0]["state"]
        assert condition(pod, "Ready")["status"] == "False"
        (event,) = events_about(store, pod["metadata"]["name"], "Unhealthy")
        assert event["message"] == "Readiness probe failed: HTTP probe failed with statuscode: 503"
        assert event["count"] == 3 and event["involvedObject"]["fieldPath"] == "spec.containers{app}"
    d = store.get(DEPLOYMENT, "default", "cart")
    assert d["status"]["replicas"] == 2 and "readyReplicas" not in d["status"]


async def test_bare_pod_carries_its_own_scenario(store: Store, sim: WorkloadSimulator, clock: ManualClock) -> None:
    store.create(POD, {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "solo", "namespace": "default", "annotations": {SCENARIO: "crashloop"}},
                       "spec": {"containers": [{"name": "main", "image": "busybox"}]}})
    await run_for(sim, clock, 5)
    pod = store.get(POD, "default", "solo")
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 1
    assert pod["status"]["containerStatuses"][0]["image"] == "docker.io/library/busybox:latest"


async def test_unknown_scenario_is_reported_on_the_workload(store: Store, sim: WorkloadSimulator,
                                                            clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("odd", 1, annotations={SCENARIO: "explode"}))
    await run_for(sim, clock, 3)
    (event,) = events_about(store, "odd", "InvalidSimScenario")
    assert event["type"] == "Warning"
    assert "Deployment default/odd: annotation sim.kubevigil.io/scenario='explode' is not one of" in event["message"]
    assert store.get(DEPLOYMENT, "default", "odd")["status"]["readyReplicas"] == 1  # ran as healthy


def test_scenario_annotations_parse_and_fail_clearly() -> None:
    s = scenario_of({SCENARIO: "slow-rollout"}, "x")
    assert s.ready_after == 60.0
    s = scenario_of({"sim.kubevigil.io/ready-after": "1.5m", "sim.kubevigil.io/duration": "250ms"}, "x")
    assert (s.name, s.ready_after, s.duration) == ("healthy", 90.0, 0.25)
    with pytest.raises(ScenarioError, match=r"Job batch/m: annotation sim.kubevigil.io/duration='soon' is not"):
        scenario_of({"sim.kubevigil.io/duration": "soon"}, "Job batch/m")
