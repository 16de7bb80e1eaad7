"""The checks role from a config file to its sinks, through the real Runtime and its one HTTP server.

Covers: results as Records and Metrics in file sinks, custom metrics on /metrics, the kuberhealthy protocol
(wrong UUID rejected), run-now behind a bearer token from a Secret, open reads, and a failed Job's reason.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubevigil.catalog import load
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually
from tests.loopback import free_port

from .harness import create_hc, hc_status, install_crds, namespace
from .specs import kv_check

KV = "kubevigil.io"
METRICS = json.dumps({"metrics": [{"name": "latency_ms", "help": "Probe latency", "metrictype": "gauge",
                                   "value": 42}]})


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


async def test_config_to_sinks_api_and_kuberhealthy(sim_cluster: Cluster, sim_kubeconfig: Path,
                                                    tmp_path: Path) -> None:
    install_crds(sim_cluster)
    sim_cluster.add_node("node-1")
    for ns in ("team", "kubevigil"):
        namespace(sim_cluster, ns)
    sim_cluster.store.create(by_kind("Secret"), {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "kv-api", "namespace": "kubevigil"}, "data": {"token": base64.b64encode(b"s3cret").decode()}})
    port = free_port()
    config = {
        "cluster": {"name": "test", "kubeconfig": str(sim_kubeconfig)},
        "server": {"listen": f"127.0.0.1:{port}"},
        "state_dir": str(tmp_path / "state"),
        "sinks": {"results": {"file": {"path": str(tmp_path / "results.jsonl")}},
                  "cw": {"file": {"path": str(tmp_path / "metrics.jsonl")}}},
        "checks": {"jitter": 0, "sinks": {"records": ["results"], "metrics": ["cw"]},
                   "reporting_url": f"http://127.0.0.1:{port}/check",
                   "api_token": {"secret": "kv-api", "namespace": "kubevigil"}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    wf = kv_check("wf", "team", {"every": "1h"})
    wf["metadata"]["annotations"] = {}
    wf["spec"]["workflow"]["source"]["inline"] = wf["spec"]["workflow"]["source"]["inline"].replace(
        "annotations:", f"annotations:\n    sim.kubevigil.io/output: '{METRICS}'")
    create_hc(sim_cluster, wf)
    create_hc(sim_cluster, {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck",
                            "metadata": {"name": "kh", "namespace": "team"},
                            "spec": {"schedule": {"every": "1h"}, "timeout": "5m", "kuberhealthy": {"podSpec": {
                                "nodeSelector": {"nowhere": "true"},  # stays Pending: only our POST reports
                                "containers": [{"name": "check", "image": "kuberhealthy/dns-resolution-check"}]}}}})
    create_hc(sim_cluster, {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck",
                            "metadata": {"name": "job", "namespace": "team"},
                            "spec": {"schedule": {"every": "1h"}, "timeout": "5m", "job": {"template": {
                                "metadata": {"annotations": {"sim.kubevigil.io/scenario": "job-fail",
                                                             "sim.kubevigil.io/duration": "1s"}},
                                "spec": {"containers": [{"name": "probe", "image": "busybox"}]}}}}})
    runtime = Runtime(load(path).settings, ["checks"])
    await runtime.start()
    base = f"http://127.0.0.1:{runtime.port}"
    try:
        async with aiohttp.ClientSession() as http:
            await eventually(lambda: hc_status(sim_cluster, KV, "team", "wf").get("successCount") == 1, what="wf ran")
            records = await eventually(lambda: [r for r in lines(tmp_path / "results.jsonl")
                                              if r["body"]["name"] == "wf"], what="a record for wf")
            assert records[0]["body"]["result"] == "Succeeded" and records[0]["body"]["runner"] == "workflow"
            metrics = await eventually(lambda: lines(tmp_path / "metrics.jsonl"), what="a metric")
            assert metrics[0]["name"] == "HealthCheckSucceeded"
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
            assert 'wf_latency_ms{healthcheck_name="wf",namespace="team"} 42.0' in text
            assert 'healthcheck_success_count{crd="kubevigil.io",healthcheck_name="wf",namespace="team",' \
                   'workflow="healthCheck"} 1.0' in text

            # kuberhealthy: the pod's environment, a report with a wrong UUID, then the right one.
            run = await eventually(lambda: hc_status(sim_cluster, KV, "team", "kh").get("currentRun"), what="kh run")
            job = sim_cluster.store.get(by_kind("Job"), "team", run["name"])
            env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
            assert env["KH_REPORTING_URL"] == f"http://127.0.0.1:{port}/check"
            assert env["KH_RUN_UUID"] == run["uuid"] and int(env["KH_CHECK_RUN_DEADLINE"]) > 0
            report = {"OK": False, "Errors": ["lookup kubernetes.default failed"]}
            async with http.post(f"{base}/check", json=report, headers={"kh-run-uuid": "not-the-uuid"}) as resp:
                assert resp.status == 400 and "invalid or expired" in await resp.text()
            async with http.post(f"{base}/check", json={"ok": True, "errors": ["x"]},
                                 headers={"kh-run-uuid": env["KH_RUN_UUID"]}) as resp:
                assert resp.status == 400
            async with http.post(f"{base}/check", json=report, headers={"kh-run-uuid": env["KH_RUN_UUID"]}) as resp:
                assert resp.status == 200
            await eventually(lambda: hc_status(sim_cluster, KV, "team", "kh").get("status") == "Failed", what="kh")
            assert hc_status(sim_cluster, KV, "team", "kh")["errorMessage"] == "lookup kubernetes.default failed"
            async with http.post(f"{base}/check", json=report, headers={"kh-run-uuid": env["KH_RUN_UUID"]}) as resp:
                assert resp.status == 400  # that run is over

            # A failed Job: its reason and the failed container in status.
            await eventually(lambda: hc_status(sim_cluster, KV, "team", "job").get("status") == "Failed", what="job")
            message = hc_status(sim_cluster, KV, "team", "job")["errorMessage"]
            assert "container probe" in message and "exit code 1" in message

            # Reads are open; run-now needs the token from the Secret.
            async with http.get(f"{base}/api/checks") as resp:
                assert resp.status == 200
                assert {c["name"] for c in (await resp.json())["checks"]} == {"wf", "kh", "job"}
            async with http.post(f"{base}/api/checks/team/wf/run") as resp:
                assert resp.status == 401
            async with http.post(f"{base}/api/checks/team/wf/run", headers={"Authorization": "Bearer nope"}) as resp:
                assert resp.status == 403
            async with http.post(f"{base}/api/checks/team/wf/run", headers={"Authorization": "Bearer s3cret"}) as resp:
                assert resp.status == 202
            await eventually(lambda: hc_status(sim_cluster, KV, "team", "wf").get("successCount") == 2, what="run now")
            hc = sim_cluster.store.get(sim_cluster.store.resource("kubevigil.io/v1", "HealthCheck"), "team", "wf")
            assert "kubevigil.io/run-now" not in (hc["metadata"].get("annotations") or {})
    finally:
        await runtime.stop()
    assert "s3cret" not in (tmp_path / "results.jsonl").read_text()
