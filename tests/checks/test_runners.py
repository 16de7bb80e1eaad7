"""The pod runners end to end with what the emulator's kubelet now serves: a failed Job container's exit code,
termination message and log tail in status; custom metrics from a termination message on /metrics; a kuberhealthy
check pod reporting to KH_REPORTING_URL from its own address with the environment its Job gave it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from kubevigil.catalog import load
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually
from tests.loopback import free_port

from .harness import checks_role, create_hc, hc_status, install_crds, namespace, runtime_config

KV = "kubevigil.io"
METRICS = {"metrics": [{"name": "rows_checked", "help": "Rows the check read", "metrictype": "gauge", "value": 1250}]}


def job_check(name: str, annotations: dict[str, str], container: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": name, "namespace": "team"},
            "spec": {"schedule": {"every": "1h"}, "timeout": "2m", "job": {"template": {
                "metadata": {"annotations": {"sim.kubevigil.io/duration": "1s", **annotations}},
                "spec": {"containers": [{"name": "probe", "image": "busybox", **(container or {})}]}}}}}


def kh_check(name: str, duration: str) -> dict[str, Any]:
    return {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": name, "namespace": "team"},
            "spec": {"schedule": {"every": "1h"}, "timeout": "2m", "kuberhealthy": {
                "extraAnnotations": {"sim.kubevigil.io/duration": duration},
                "extraLabels": {"team": "dns"},
                "podSpec": {"containers": [{"name": "main", "image": "kuberhealthy/dns-resolution-check:v1.5.0",
                                            "env": [{"name": "HOSTNAME", "value": "kubernetes.default"}]}]}}}}


async def test_a_failed_job_says_why_and_a_passing_one_reports_metrics(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster, argo=False)
    sim_cluster.add_node("node-1")
    namespace(sim_cluster, "team")
    create_hc(sim_cluster, job_check("disk", {
        "sim.kubevigil.io/logs": "checking /data\nwrote 0 of 4096 bytes\nboom: no space left on device",
        "sim.kubevigil.io/exit-code": "3", "sim.kubevigil.io/termination-message": "disk full on /data"}))
    create_hc(sim_cluster, job_check("fallback", {
        "sim.kubevigil.io/logs": "connecting to db\nfatal: connection refused", "sim.kubevigil.io/exit-code": "2"},
        {"terminationMessagePolicy": "FallbackToLogsOnError"}))
    create_hc(sim_cluster, job_check("rows", {"sim.kubevigil.io/termination-message": json.dumps(METRICS)}))
    async with checks_role(sim_kubeconfig, {"jitter": 0, "log_tail_lines": 2}, tmp_path) as running:
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "disk").get("status") == "Failed"
                         and hc_status(sim_cluster, KV, "team", "fallback").get("status") == "Failed"
                         and hc_status(sim_cluster, KV, "team", "rows").get("status") == "Succeeded",
                         timeout=60, what="three Job runs")
        rows = running.registry.get_sample_value("rows_rows_checked", {"healthcheck_name": "rows", "namespace": "team"})
    disk = hc_status(sim_cluster, KV, "team", "disk")["errorMessage"]
    assert disk == ("Job has reached the specified backoff limit: container probe: disk full on /data (exit code 3); "
                    "log tail: wrote 0 of 4096 bytes | boom: no space left on device")
    # With FallbackToLogsOnError the termination message is the log: shown once, as the tail.
    fallback = hc_status(sim_cluster, KV, "team", "fallback")["errorMessage"]
    assert fallback.endswith(": container probe: Error (exit code 2); log tail: connecting to db | "
                             "fatal: connection refused")
    assert rows == 1250
    failed = [e["message"] for e in sim_cluster.store.list(by_kind("Event"), "team")
              if e["reason"] == "RunFailed" and e["involvedObject"]["name"] == "disk"]
    assert failed == [disk]


def pod_env(pod: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet resolves it (values, and fieldRefs to the pod's metadata)."""
    out = {}
    for var in pod["spec"]["containers"][0].get("env") or []:
        ref = (var.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        out[var["name"]] = pod["metadata"]["namespace"] if ref == "metadata.namespace" else var.get("value", "")
    return out


async def test_a_kuberhealthy_pod_reports_from_its_own_address(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster, argo=False)
    sim_cluster.add_node("node-1")
    namespace(sim_cluster, "team")
    port = free_port()
    config = runtime_config(tmp_path, sim_kubeconfig, port,
                            {"jitter": 0, "reporting_url": f"http://127.0.0.1:{port}/check"})
    create_hc(sim_cluster, kh_check("dns", "2m"))
    create_hc(sim_cluster, kh_check("silent", "1s"))
    runtime = Runtime(load(config).settings, ["checks"])
    await runtime.start()
    try:
        run = await eventually(lambda: hc_status(sim_cluster, KV, "team", "dns").get("currentRun"), what="the run")

        def running_pod() -> dict[str, Any] | None:
            pods = sim_cluster.store.list(by_kind("Pod"), "team", label_selector=f"job-name={run['name']}")
            return next((p for p in pods if (p.get("status") or {}).get("phase") == "Running"), None)

        pod = await eventually(running_pod, what="the check pod running")
        assert pod["metadata"]["annotations"]["sim.kubevigil.io/duration"] == "2m"
        assert pod["metadata"]["labels"]["team"] == "dns"
        env = pod_env(pod)
        assert env["KH_RUN_UUID"] == run["uuid"] and env["KH_POD_NAMESPACE"] == "team"
        assert env["HOSTNAME"] == "kubernetes.default"
        assert abs(int(env["KH_CHECK_RUN_DEADLINE"]) - (time.time() + 120)) < 30
        # What kuberhealthy's checkclient does: POST {"OK": …, "Errors": […]} with the run's UUID, from the pod.
        connector = aiohttp.TCPConnector(local_addr=(pod["status"]["podIP"], 0))
        async with aiohttp.ClientSession(connector=connector) as http, http.post(
                env["KH_REPORTING_URL"], json={"OK": True, "Errors": []},
                headers={"kh-run-uuid": env["KH_RUN_UUID"]}) as resp:
            assert resp.status == 200, await resp.text()
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "dns").get("status") == "Succeeded", what="pass")
        # Reported before its pod ended: the Job is not needed any more.
        await eventually(lambda: sim_cluster.store.try_get(by_kind("Job"), "team", run["name"]) is None,
                         what="the reported Job deleted")
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "silent").get("status") == "Failed", timeout=60,
                         what="the silent check failed")
    finally:
        await runtime.stop()
    assert hc_status(sim_cluster, KV, "team", "silent")["errorMessage"] == \
        "check pod exited without reporting to KH_REPORTING_URL"
