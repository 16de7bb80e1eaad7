"""Deployments, ReplicaSets and Pods through the simulator, step by step on a ManualClock."""

from __future__ import annotations

from kubevigil.core.clock import ManualClock
from kubevigil.sim.store import Store
from kubevigil.sim.workloads import WorkloadSimulator
from tests.sim_workloads.helpers import (
    DEPLOYMENT,
    EVENT,
    NODE_RES,
    REPLICASET,
    condition,
    deployment,
    events_about,
    pods_of,
    run_for,
)


async def test_deployment_gets_replicaset_and_ready_pods(store: Store, sim: WorkloadSimulator,
                                                         clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("web", replicas=3))
    await run_for(sim, clock, 5)
    d = store.get(DEPLOYMENT, "default", "web")
    (rs,) = store.list(REPLICASET, "default")
    hash_ = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{hash_}"
    assert rs["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]
    assert rs["status"] == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                            "observedGeneration": 1}
    status = d["status"]
    assert {k: status.get(k) for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                                       "availableReplicas", "unavailableReplicas")} == {
        "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "unavailableReplicas": None}
    assert condition(d, "Available")["reason"] == "MinimumReplicasAvailable"
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
    pods = pods_of(store, "web")
    assert len(pods) == 3
    assert len({p["spec"]["nodeName"] for p in pods}) == 3  # round-robin over three Ready nodes
    for pod in pods:
        assert pod["metadata"]["ownerReferences"][0]["name"] == rs["metadata"]["name"]
        assert pod["metadata"]["labels"]["pod-template-hash"] == hash_
        st = pod["status"]
        assert st["phase"] == "Running" and st["podIP"].startswith("127.1.") and st["hostIP"]
        assert [c["type"] for c in st["conditions"]] == [
            "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        assert all(c["status"] == "True" for c in st["conditions"])
        (cs,) = st["containerStatuses"]
        assert cs["ready"] and cs["restartCount"] == 0 and "running" in cs["state"]
        assert cs["containerID"].startswith("containerd://") and "@sha256:" in cs["imageID"]
        reasons = [e["reason"] for e in events_about(store, pod["metadata"]["name"])]
        assert sorted(reasons) == sorted(["Scheduled", "Pulling", "Pulled", "Created", "Started"])
    assert [e["message"] for e in events_about(store, "web", "ScalingReplicaSet")] == [
        f"Scaled up replica set {rs['metadata']['name']} from 0 to 3"]
    assert len(events_about(store, rs["metadata"]["name"], "SuccessfulCreate")) == 3


async def test_pods_become_ready_after_the_annotated_delay(store: Store, sim: WorkloadSimulator,
                                                           clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("late", 1, annotations={"sim.kubevigil.io/ready-after": "8s"}))
    await run_for(sim, clock, 6)
    (pod,) = pods_of(store, "late")
    assert pod["status"]["phase"] == "Running"
    assert not pod["status"]["containerStatuses"][0]["ready"]
    assert condition(pod, "Ready")["reason"] == "ContainersNotReady"
    await run_for(sim, clock, 3)
    assert store.get(DEPLOYMENT, "default", "late")["status"]["readyReplicas"] == 1


async def test_scaling_up_and_down(store: Store, sim: WorkloadSimulator, clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("web", replicas=2))
    await run_for(sim, clock, 4)
    store.patch(DEPLOYMENT, "default", "web", "application/merge-patch+json", {"spec": {"replicas": 4}})
    await run_for(sim, clock, 4)
    assert store.get(DEPLOYMENT, "default", "web")["status"]["availableReplicas"] == 4
    store.patch(DEPLOYMENT, "default", "web", "application/merge-patch+json", {"spec": {"replicas": 1}})
    await run_for(sim, clock, 2)
    d = store.get(DEPLOYMENT, "default", "web")
    assert d["status"]["replicas"] == 1 and d["status"]["observedGeneration"] == 3
    assert len(pods_of(store, "web")) == 1
    killed = [e for e in store.list(EVENT) if e["reason"] == "Killing"]
    assert len(killed) == 3 and killed[0]["message"] == "Stopping container app"
    assert killed[0]["involvedObject"]["fieldPath"] == "spec.containers{app}"


async def test_template_change_rolls_out_a_new_replicaset(store: Store, sim: WorkloadSimulator,
                                                          clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("web", replicas=4))
    await run_for(sim, clock, 4)
    (old_rs,) = store.list(REPLICASET, "default")
    store.patch(DEPLOYMENT, "default", "web", "application/strategic-merge-patch+json",
                {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}})
    max_pods = 0
    for _ in range(20):
        await run_for(sim, clock, 1)
        max_pods = max(max_pods, len(pods_of(store, "web")))
        d = store.get(DEPLOYMENT, "default", "web")
        # maxUnavailable 25% of 4 = 1: never fewer than 3 available during the rollout.
        assert d["status"].get("availableReplicas", 0) >= 3
    assert max_pods <= 5  # maxSurge 25% of 4 = 1
    rss = {rs["metadata"]["name"]: rs for rs in store.list(REPLICASET, "default")}
    assert len(rss) == 2
    new_rs = next(rs for name, rs in rss.items() if name != old_rs["metadata"]["name"])
    assert rss[old_rs["metadata"]["name"]]["spec"]["replicas"] == 0
    assert new_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    d = store.get(DEPLOYMENT, "default", "web")
    assert d["status"]["updatedReplicas"] == 4 and d["status"]["availableReplicas"] == 4
    assert condition(d, "Progressing")["message"] == f'ReplicaSet "{new_rs["metadata"]["name"]}" has successfully progressed.'
    assert all(p["spec"]["containers"][0]["image"] == "nginx:1.28" for p in pods_of(store, "web"))
    scaled = [e["message"] for e in events_about(store, "web", "ScalingReplicaSet")]
    assert any(m.startswith(f"Scaled down replica set {old_rs['metadata']['name']}") for m in scaled)


async def test_progress_deadline_exceeded_for_a_slow_rollout(store: Store, sim: WorkloadSimulator,
                                                            clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("slow", 1, annotations={"sim.kubevigil.io/scenario": "slow-rollout"},
                                        progressDeadlineSeconds=20))
    await run_for(sim, clock, 30, tick=2)
    d = store.get(DEPLOYMENT, "default", "slow")
    assert condition(d, "Progressing")["status"] == "False"
    assert condition(d, "Progressing")["reason"] == "ProgressDeadlineExceeded"
    assert condition(d, "Available")["status"] == "False"
    assert d["status"]["unavailableReplicas"] == 1
    await run_for(sim, clock, 40, tick=5)  # slow-rollout pods become ready after 60 s
    d = store.get(DEPLOYMENT, "default", "slow")
    assert d["status"]["readyReplicas"] == 1
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


async def test_no_ready_node_leaves_pods_pending_with_failed_scheduling(store: Store, sim: WorkloadSimulator,
                                                                       clock: ManualClock) -> None:
    for node in store.list(NODE_RES):
        sim.set_node_ready(node["metadata"]["name"], False)
    store.create(DEPLOYMENT, deployment("web", 1))
    await run_for(sim, clock, 25)
    (pod,) = pods_of(store, "web")
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    assert condition(pod, "PodScheduled")["reason"] == "Unschedulable"
    (event,) = events_about(store, pod["metadata"]["name"], "FailedScheduling")
    assert event["type"] == "Warning" and event["count"] == 3  # at 0, 10 and 20 s
    assert event["message"].startswith("0/3 nodes are available: 3 node(s) had untolerated taint")
    assert event["source"] == {"component": "default-scheduler"}
    sim.set_node_ready(store.list(NODE_RES)[0]["metadata"]["name"], True)
    await run_for(sim, clock, 3)
    (pod,) = pods_of(store, "web")
    assert pod["spec"]["nodeName"] == store.list(NODE_RES)[0]["metadata"]["name"]
    assert pod["status"]["containerStatuses"][0]["ready"]


async def test_deleting_a_deployment_removes_its_replicasets_and_pods(store: Store, sim: WorkloadSimulator,
                                                                     clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("web", 2))
    await run_for(sim, clock, 3)
    store.delete(DEPLOYMENT, "default", "web")
    await run_for(sim, clock, 2)
    assert store.list(REPLICASET, "default") == []
    assert pods_of(store, "web") == []


async def test_recreate_strategy_stops_old_pods_first(store: Store, sim: WorkloadSimulator,
                                                      clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("db", 2, strategy={"type": "Recreate"}))
    await run_for(sim, clock, 3)
    store.patch(DEPLOYMENT, "default", "db", "application/strategic-merge-patch+json",
                {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}})
    for _ in range(6):
        await run_for(sim, clock, 1)
        images = {p["spec"]["containers"][0]["image"] for p in pods_of(store, "db")}
        assert len(images) <= 1
    assert {p["spec"]["containers"][0]["image"] for p in pods_of(store, "db")} == {"nginx:1.28"}
    assert store.get(DEPLOYMENT, "default", "db")["status"]["readyReplicas"] == 2
