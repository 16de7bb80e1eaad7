"""Issue 11: leader failover with two replicas — the new leader resumes schedules from status. Two runtimes share
the emulator; the leader stops while a run is in flight; the other takes the lease, adopts that run instead of
starting a second one, and the check goes on counting from where status says it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.catalog import load
from kubevigil.roles.checks.check import LABEL_CHECK_UID
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import create_hc, hc, hc_status, install_crds, namespace
from .specs import kv_check

KV = "kubevigil.io"
WORKFLOW = "argoproj.io/v1alpha1"


def replica_settings(tmp_path: Path, name: str, kubeconfig: Path) -> Any:
    root = tmp_path / name
    root.mkdir()
    config = {
        "cluster": {"name": "test", "kubeconfig": str(kubeconfig)},
        "server": {"listen": "127.0.0.1:0"},
        "state_dir": str(root / "state"),
        "shutdown_grace": 1,
        "logging": {"level": "warning"},
        "leader_election": {"namespace": "default", "lease_duration": 2, "renew_deadline": 1.5, "retry_period": 0.2},
        "checks": {"jitter": 0, "run_ttl": "1h"},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return load(root / "config.yaml", environ={}).settings


async def start(settings: Any, identity: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("POD_NAME", identity)
    runtime = Runtime(settings, ["checks"])
    await runtime.start()
    return runtime


def leading(runtime: Runtime) -> bool:
    return runtime.elector is not None and runtime.elector.is_leader


def workflows(cluster: Cluster, uid: str) -> list[dict[str, Any]]:
    res = cluster.store.resource(WORKFLOW, "Workflow")
    return cluster.store.list(res, "team", label_selector=f"{LABEL_CHECK_UID}={uid}")


async def test_the_new_leader_adopts_the_run_in_flight_and_resumes_the_schedule(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_crds(sim_cluster)
    sim_cluster.add_node("node-1")
    namespace(sim_cluster, "team")
    uid = create_hc(sim_cluster, kv_check("wf", "team", {"every": "2s"}, duration="2s"))["metadata"]["uid"]
    a = await start(replica_settings(tmp_path, "a", sim_kubeconfig), "replica-a", monkeypatch)
    b: Runtime | None = None
    try:
        await eventually(lambda: leading(a), what="a leads")
        b = await start(replica_settings(tmp_path, "b", sim_kubeconfig), "replica-b", monkeypatch)
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "wf").get("successCount", 0) >= 2, what="2 runs")
        in_flight = await eventually(lambda: hc_status(sim_cluster, KV, "team", "wf").get("currentRun"),
                                   what="a run in flight")
        assert not leading(b) and b.standby("checks") and b.readiness()["role:checks"].ok
        await a.stop()  # a rolling update: the leader hands its lease back with a run in flight

        await eventually(lambda: leading(b), timeout=10, what="b leads")
        def recorded(s: dict[str, Any]) -> bool:
            return in_flight["name"] in (s.get("lastSuccessfulWorkflow"), s.get("lastFailedWorkflow"))

        status = await eventually(lambda: recorded(s := hc_status(sim_cluster, KV, "team", "wf")) and s, timeout=30,
                                what="the run a started, finished and recorded by b")
        done = status["successCount"] + status.get("failedCount", 0)

        def one_workflow_per_run() -> bool:
            """Every Workflow is a recorded run or the one in flight (a run is created a moment before status
            names it, so this holds between two writes)."""
            now = hc_status(sim_cluster, KV, "team", "wf")
            runs = now.get("successCount", 0) + now.get("failedCount", 0) + (1 if now.get("currentRun") else 0)
            return len(workflows(sim_cluster, uid)) == runs

        # b adopted a's run instead of starting another for the same slot
        await eventually(one_workflow_per_run, timeout=10, what="one Workflow per run")
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "wf").get("successCount", 0) >= done + 2,
                       timeout=30, what="b runs the schedule on")
        await eventually(one_workflow_per_run, timeout=10, what="still one Workflow per run")
        assert hc(sim_cluster, KV, "team", "wf")["metadata"]["uid"] == uid
    finally:
        await a.stop()
        if b is not None:
            await b.stop()
