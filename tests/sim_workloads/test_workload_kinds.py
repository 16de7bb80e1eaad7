"""StatefulSets, DaemonSets, Jobs, CronJobs, node readiness and the demo cluster."""

from __future__ import annotations

from kubevigil.core.clock import ManualClock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.store import Store
from kubevigil.sim.workloads import WorkloadSimulator, seed_demo_cluster
from tests.sim_workloads.helpers import (
    DEPLOYMENT,
    EVENT,
    NODE_RES,
    POD,
    condition,
    deployment,
    events_about,
    pods_of,
    run_for,
)

STS = by_kind("StatefulSet")
DS = by_kind("DaemonSet")
JOB = by_kind("Job")
CRONJOB = by_kind("CronJob")


def _pod_spec(name: str, restart: str = "Always") -> dict:
    return {"restartPolicy": restart, "containers": [{"name": name, "image": f"example/{name}:1"}]}


async def test_statefulset_creates_ordinals_in_order(store: Store, sim: WorkloadSimulator,
                                                     clock: ManualClock) -> None:
    labels = {"app": "db"}
    store.create(STS, {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
                       "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": labels},
                                "template": {"metadata": {"labels": labels}, "spec": _pod_spec("db")}}})
    sim.reconcile_once()
    assert [p["metadata"]["name"] for p in pods_of(store, "db")] == ["db-0"]
    await run_for(sim, clock, 3)
    assert [p["metadata"]["name"] for p in pods_of(store, "db")] == ["db-0", "db-1"]
    await run_for(sim, clock, 6)
    sts = store.get(STS, "default", "db")
    assert sts["status"]["readyReplicas"] == 3 and sts["status"]["availableReplicas"] == 3
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    assert next(e["message"] for e in events_about(store, "db", "SuccessfulCreate")) == \
        "create Pod db-0 in StatefulSet db successful"


async def test_daemonset_runs_one_pod_per_node_and_survives_a_lost_node(store: Store, sim: WorkloadSimulator,
                                                                       clock: ManualClock) -> None:
    labels = {"k8s-app": "agent"}
    store.create(DS, {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system"},
                      "spec": {"selector": {"matchLabels": labels},
                               "template": {"metadata": {"labels": labels}, "spec": _pod_spec("agent")}}})
    await run_for(sim, clock, 4)
    ds = store.get(DS, "kube-system", "agent")
    assert {k: ds["status"].get(k) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                             "numberAvailable", "updatedNumberScheduled", "observedGeneration")} == {
        "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 3, "numberAvailable": 3,
        "updatedNumberScheduled": 3, "observedGeneration": 1}
    pods = store.list(POD, "kube-system", label_selector="k8s-app=agent")
    assert sorted(p["spec"]["nodeName"] for p in pods) == sorted(n["metadata"]["name"] for n in store.list(NODE_RES))
    lost = store.list(NODE_RES)[1]["metadata"]["name"]
    sim.set_node_ready(lost, False)
    await run_for(sim, clock, 400, tick=20)  # past the 300 s NoExecute toleration of ordinary pods
    ds = store.get(DS, "kube-system", "agent")
    assert ds["status"]["desiredNumberScheduled"] == 3 and ds["status"]["numberReady"] == 2
    assert ds["status"]["numberUnavailable"] == 1


async def test_node_not_ready_marks_pods_and_evicts_after_toleration(store: Store, sim: WorkloadSimulator,
                                                                     clock: ManualClock) -> None:
    store.create(DEPLOYMENT, deployment("web", 3))
    await run_for(sim, clock, 4)
    lost = store.list(NODE_RES)[0]["metadata"]["name"]
    victim = store.list(POD, field_selector=f"spec.nodeName={lost}")[0]
    sim.set_node_ready(lost, False)
    node = store.get(NODE_RES, None, lost)
    assert condition(node, "Ready")["status"] == "False"
    assert {t["effect"] for t in node["spec"]["taints"]} == {"NoSchedule", "NoExecute"}
    assert events_about(store, lost, "NodeNotReady")[0]["message"] == f"Node {lost} status is now: NodeNotReady"
    assert events_about(store, victim["metadata"]["name"], "NodeNotReady")[0]["message"] == "Node is not ready"
    await run_for(sim, clock, 2)
    assert condition(store.get(POD, "default", victim["metadata"]["name"]), "Ready")["status"] == "False"
    d = store.get(DEPLOYMENT, "default", "web")
    assert d["status"]["readyReplicas"] == 2
    await run_for(sim, clock, 310, tick=10)
    assert store.try_get(POD, "default", victim["metadata"]["name"]) is None
    assert events_about(store, victim["metadata"]["name"], "TaintManagerEviction")
    pods = pods_of(store, "web")
    assert len(pods) == 3 and lost not in {p["spec"]["nodeName"] for p in pods}
    assert store.get(DEPLOYMENT, "default", "web")["status"]["readyReplicas"] == 3
    sim.set_node_ready(lost, True)
    assert condition(store.get(NODE_RES, None, lost), "Ready")["reason"] == "KubeletReady"
    assert "taints" not in store.get(NODE_RES, None, lost)["spec"]


async def test_job_succeeds_after_its_duration(store: Store, sim: WorkloadSimulator, clock: ManualClock) -> None:
    store.create(JOB, {"apiVersion": "batch/v1", "kind": "Job",
                       "metadata": {"name": "once", "namespace": "default",
                                    "annotations": {"sim.kubevigil.io/duration": "10s"}},
                       "spec": {"template": {"spec": _pod_spec("once", "Never")}}})
    await run_for(sim, clock, 5)
    job = store.get(JOB, "default", "once")
    assert job["status"]["active"] == 1 and "conditions" not in job["status"]
    await run_for(sim, clock, 8)
    job = store.get(JOB, "default", "once")
    assert job["status"]["succeeded"] == 1 and condition(job, "Complete")["status"] == "True"
    assert job["status"]["startTime"] <= job["status"]["completionTime"]
    (pod,) = store.list(POD, "default", label_selector="job-name=once")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert events_about(store, "once", "Completed")[0]["message"] == "Job completed"


async def test_job_fail_exhausts_backoff_limit(store: Store, sim: WorkloadSimulator, clock: ManualClock) -> None:
    store.create(JOB, {"apiVersion": "batch/v1", "kind": "Job",
                       "metadata": {"name": "migrate", "namespace": "default",
                                    "annotations": {"sim.kubevigil.io/scenario": "job-fail",
                                                    "sim.kubevigil.io/duration": "2s"}},
                       "spec": {"backoffLimit": 2, "template": {"spec": _pod_spec("migrate", "Never")}}})
    await run_for(sim, clock, 20)
    job = store.get(JOB, "default", "migrate")
    assert job["status"]["failed"] == 3
    assert condition(job, "Failed")["reason"] == "BackoffLimitExceeded"
    assert "completionTime" not in job["status"]
    pods = store.list(POD, "default", label_selector="job-name=migrate")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Failed" for p in pods)
    assert events_about(store, "migrate", "BackoffLimitExceeded")[0]["type"] == "Warning"


async def test_cronjob_starts_jobs_on_schedule_and_keeps_history(store: Store, sim: WorkloadSimulator,
                                                                 clock: ManualClock) -> None:
    store.create(CRONJOB, {"apiVersion": "batch/v1", "kind": "CronJob",
                           "metadata": {"name": "tick", "namespace": "default"},
                           "spec": {"schedule": "* * * * *", "successfulJobsHistoryLimit": 2,
                                    "jobTemplate": {"spec": {"template": {"spec": _pod_spec("tick", "Never")}}}}})
    await run_for(sim, clock, 300, tick=5)
    cj = store.get(CRONJOB, "default", "tick")
    jobs = store.list(JOB, "default")
    assert len(jobs) == 2  # history limit; older ones deleted
    assert all(j["metadata"]["ownerReferences"][0]["name"] == "tick" for j in jobs)
    assert cj["status"]["lastScheduleTime"].endswith(":00Z")
    assert cj["status"]["lastSuccessfulTime"] > cj["status"]["lastScheduleTime"]
    created = events_about(store, "tick", "SuccessfulCreate")
    assert len(created) == 5  # one per minute in 300 s
    assert events_about(store, "tick", "SawCompletedJob")


async def test_seed_demo_cluster_shows_healthy_and_broken_workloads(clock: ManualClock) -> None:
    store = Store(clock)
    await seed_demo_cluster(store, clock)
    await seed_demo_cluster(store, clock)  # idempotent
    sim = WorkloadSimulator(store, clock)
    await run_for(sim, clock, 70, tick=2)
    nodes = store.list(NODE_RES)
    assert [n["metadata"]["name"] for n in nodes] == [
        "ip-10-0-1-11.eu-west-1.compute.internal", "ip-10-0-2-12.eu-west-1.compute.internal",
        "ip-10-0-3-13.eu-west-1.compute.internal"]
    assert nodes[0]["metadata"]["labels"]["topology.kubernetes.io/zone"] == "eu-west-1a"
    ready = {(d["metadata"]["namespace"], d["metadata"]["name"]): d["status"].get("readyReplicas", 0)
             for d in store.list(DEPLOYMENT)}
    assert ready == {("kube-system", "coredns"): 2, ("monitoring", "grafana"): 1, ("shop", "frontend"): 3,
                     ("shop", "cart"): 2, ("shop", "checkout"): 0, ("shop", "payments"): 0}
    assert store.get(STS, "monitoring", "prometheus")["status"]["readyReplicas"] == 1
    assert store.get(DS, "kube-system", "aws-node")["status"]["numberReady"] == 3
    assert condition(store.get(JOB, "batch", "migrate"), "Failed")["status"] == "True"
    assert store.get(CRONJOB, "batch", "report")["status"]["lastScheduleTime"]
    reasons = {e["reason"] for e in store.list(EVENT)}
    assert {"BackOff", "Failed", "Scheduled", "Started", "ScalingReplicaSet", "SuccessfulCreate"} <= reasons
