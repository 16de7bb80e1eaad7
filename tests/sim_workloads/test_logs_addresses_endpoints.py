"""Container logs and termination messages, loopback addresses, and Endpoints/EndpointSlices following pods."""

from __future__ import annotations

import ipaddress

from kubevigil.core.clock import ManualClock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.store import Store
from kubevigil.sim.workloads import CONTROLLERS, WorkloadSimulator

from .helpers import deployment, pods_of, run_for

POD = by_kind("Pod")
JOB = by_kind("Job")


def job(name: str, annotations: dict[str, str], policy: str = "File") -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations},
            "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "check", "image": "busybox", "terminationMessagePolicy": policy}]}}}}


def job_pod(store: Store, name: str) -> dict:
    return next(p for p in store.list(POD, "default") if p["metadata"]["name"].startswith(f"{name}-"))


async def test_job_prints_its_scenario_and_leaves_a_termination_message(sim: WorkloadSimulator, store: Store,
                                                                        clock: ManualClock) -> None:
    store.create(JOB, job("probe", {"sim.kubevigil.io/logs": "checking\nlatency_ms 42", "sim.kubevigil.io/exit-code":
                                    "3", "sim.kubevigil.io/termination-message": '{"latency_ms": 42}',
                                    "sim.kubevigil.io/duration": "2s"}))
    store.create(JOB, job("tail", {"sim.kubevigil.io/logs": "one\ntwo\nboom", "sim.kubevigil.io/scenario": "job-fail"},
                          policy="FallbackToLogsOnError"))
    await run_for(sim, clock, 12)
    pod = job_pod(store, "probe")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 3 and terminated["reason"] == "Error"
    assert terminated["message"] == '{"latency_ms": 42}' and pod["status"]["phase"] == "Failed"
    instance = sim.logs.instance(pod["metadata"]["uid"], "check", previous=False)
    assert instance is not None and [line for _, line in instance.lines] == ["checking", "latency_ms 42"]
    tail = job_pod(store, "tail")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert tail["message"] == "one\ntwo\nboom" and tail["exitCode"] == 1


async def test_crashloop_previous_instance_has_logs(sim: WorkloadSimulator, store: Store, clock: ManualClock) -> None:
    store.create(by_kind("Deployment"), deployment("crash", 1, annotations={"sim.kubevigil.io/scenario": "crashloop"}))
    await run_for(sim, clock, 30)
    pod = pods_of(store, "crash")[0]
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 1
    previous = sim.logs.instance(pod["metadata"]["uid"], "app", previous=True)
    assert previous is not None and previous.exited
    assert [line for _, line in previous.lines][-1] == "fatal: cannot start: exiting with code 1"


async def test_addresses_are_unique_loopback_and_endpoints_follow_ready_pods(sim: WorkloadSimulator, store: Store,
                                                                            clock: ManualClock) -> None:
    store.create(by_kind("Deployment"), deployment("web", 6))
    store.create(by_kind("Service"), {"metadata": {"name": "web", "namespace": "default"},
                                      "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    store.create(by_kind("Service"), {"metadata": {"name": "other", "namespace": "default"},
                                      "spec": {"selector": {"app": "none"}, "ports": [{"port": 81}]}})
    await run_for(sim, clock, 10)
    pods = pods_of(store, "web")
    ips = [p["status"]["podIP"] for p in pods]
    assert len(set(ips)) == 6 and all(ipaddress.ip_address(ip) in ipaddress.ip_network("127.1.0.0/16") for ip in ips)
    nodes = [a["address"] for n in store.list(by_kind("Node")) for a in n["status"]["addresses"]
             if a["type"] == "InternalIP"]
    assert len(set(nodes)) == 3 and all(ip.startswith("127.2.") for ip in nodes)
    cluster_ips = [s["spec"]["clusterIP"] for s in store.list(by_kind("Service"))]
    assert len(set(cluster_ips)) == 2 and all(ip.startswith("127.3.") for ip in cluster_ips)
    endpoints = store.get(by_kind("Endpoints"), "default", "web")
    assert sorted(a["ip"] for a in endpoints["subsets"][0]["addresses"]) == sorted(ips)
    assert endpoints["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    slices = store.list(by_kind("EndpointSlice"), "default", label_selector="kubernetes.io/service-name=web")
    assert len(slices) == 1 and all(e["conditions"]["ready"] for e in slices[0]["endpoints"])
    assert "subsets" not in store.get(by_kind("Endpoints"), "default", "other")
    store.delete(by_kind("Service"), "default", "web")
    await run_for(sim, clock, 2)
    assert store.try_get(by_kind("Endpoints"), "default", "web") is None
    assert not store.list(by_kind("EndpointSlice"), "default", label_selector="kubernetes.io/service-name=web")


def test_controllers_table_names_each_simulated_controller_once() -> None:
    names = [name for name, _, _ in CONTROLLERS]
    assert len(names) == len(set(names)) and {"deployment", "endpoints", "disruption"} <= set(names)
