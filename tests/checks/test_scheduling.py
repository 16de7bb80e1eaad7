"""Scheduling end to end: cron across cycles on a manual clock, restart mid-run, two namespaces with one name."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kubevigil.core.clock import ManualClock
from kubevigil.roles.checks.controller import HC_RESOURCES
from kubevigil.roles.checks.runs import WORKFLOW
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import checks_role, create_hc, hc_status, install_crds, namespace
from .specs import kv_check

KV = "kubevigil.io"


async def step(clock: ManualClock, seconds: int) -> None:
    """Advance the shared clock one second at a time, giving the network a moment after each."""
    for _ in range(seconds):
        await clock.advance(1)
        await asyncio.sleep(0.03)


def workflows(cluster: Cluster, namespace: str) -> list[dict]:
    res = cluster.store.resource("argoproj.io/v1alpha1", "Workflow")
    return cluster.store.list(res, namespace)


async def test_cron_keeps_its_schedule_across_cycles(tmp_path: Path) -> None:
    clock = ManualClock()  # 2023-11-14T22:13:20Z
    async with Cluster(clock=clock) as cluster:
        install_crds(cluster)
        namespace(cluster, "team")
        create_hc(cluster, kv_check("every-minute", "team", {"cron": "* * * * *"}))
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
        async with checks_role(kubeconfig, {"jitter": 0}, tmp_path, clock=clock) as running:
            await eventually(lambda: hc_status(cluster, KV, "team", "every-minute").get("nextRunAt"), what="scheduled")
            assert hc_status(cluster, KV, "team", "every-minute")["nextRunAt"] == "2023-11-14T22:14:00.000Z"
            await step(clock, 40 + 3 * 60 + 6)  # to 22:17:06
            await eventually(lambda: hc_status(cluster, KV, "team", "every-minute").get("successCount", 0) >= 4,
                           what="four runs", timeout=10)
            status = hc_status(cluster, KV, "team", "every-minute")
            finished = sorted(h["time"] for h in status["history"])
            assert [t[11:16] for t in finished] == ["22:14", "22:15", "22:16", "22:17"]
            assert status["nextRunAt"] == "2023-11-14T22:18:00.000Z"
            assert max(running.role.recent_lateness) < 2.0


async def test_restart_mid_run_adopts_the_workflow_and_keeps_the_schedule(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "team")
    create_hc(sim_cluster, kv_check("slow", "team", {"every": "1h"}, duration="4s"))
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        run = await eventually(lambda: hc_status(sim_cluster, KV, "team", "slow").get("currentRun"), what="run started")
    # kubevigil is gone while the Workflow runs; a new process picks it up from status.
    assert run["kind"] == "Workflow" and len(workflows(sim_cluster, "team")) == 1
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "slow").get("successCount") == 1, what="success")
        await asyncio.sleep(1.0)  # time for a wrong second run to show up
    status = hc_status(sim_cluster, KV, "team", "slow")
    assert status["totalHealthCheckRuns"] == 1 and status["lastSuccessfulWorkflow"] == run["name"]
    assert [w["metadata"]["name"] for w in workflows(sim_cluster, "team")] == [run["name"]]
    assert status["nextRunAt"][:19] == _plus_hour(run["scheduledAt"])[:19]  # the next slot, not skipped or moved


async def test_a_run_created_but_not_recorded_is_adopted_not_repeated(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "team")
    created = create_hc(sim_cluster, kv_check("crashy", "team", {"every": "1h"}, duration="2s"))
    # What a crash between creating the Workflow and writing status leaves behind: a labelled Workflow only.
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
          "metadata": {"name": "crashy-abcde", "namespace": "team", "labels": {
              "app.kubernetes.io/managed-by": "kubevigil", "kubevigil.io/healthcheck-uid": created["metadata"]["uid"],
              "kubevigil.io/purpose": "check"}},
          "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox"}}]}}
    sim_cluster.store.create(sim_cluster.store.resource("argoproj.io/v1alpha1", "Workflow"), wf)
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "crashy").get("successCount") == 1, what="success")
    assert hc_status(sim_cluster, KV, "team", "crashy")["lastSuccessfulWorkflow"] == "crashy-abcde"
    assert len(workflows(sim_cluster, "team")) == 1


async def test_same_name_in_two_namespaces_are_two_checks(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    for ns in ("blue", "green"):
        namespace(sim_cluster, ns)
    create_hc(sim_cluster, kv_check("db", "blue", {"every": "1h"}))
    create_hc(sim_cluster, kv_check("db", "green", {"every": "1h"}, scenario="workflow-fail"))
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path) as running:
        await eventually(lambda: hc_status(sim_cluster, KV, "blue", "db").get("status") == "Succeeded"
                       and hc_status(sim_cluster, KV, "green", "db").get("status") == "Failed", what="both ran")
        sample = running.registry.get_sample_value
        assert sample("healthcheck_success_count", {"healthcheck_name": "db", "workflow": "healthCheck",
                                                    "namespace": "blue", "crd": KV}) == 1
        assert sample("healthcheck_error_count", {"healthcheck_name": "db", "workflow": "healthCheck",
                                                  "namespace": "green", "crd": KV}) == 1
        assert sample("kuberhealthy_check", {"check": "db", "namespace": "green", "crd": KV, "status": "0"}) == 0
    for ns in ("blue", "green"):
        (wf,) = workflows(sim_cluster, ns)
        assert wf["metadata"]["labels"]["kubevigil.io/healthcheck"] == "db"
    assert HC_RESOURCES[KV].plural == "healthchecks" and WORKFLOW.group == "argoproj.io"


def _plus_hour(stamp: str) -> str:
    from datetime import datetime, timedelta

    t = datetime.fromisoformat(stamp) + timedelta(hours=1)
    return t.strftime("%Y-%m-%dT%H:%M:%S")


async def test_a_run_past_its_deadline_is_deleted_and_failed(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "team")
    create_hc(sim_cluster, kv_check("stuck", "team", {"every": "1h"}, scenario="hang", timeout="3s"))
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "stuck").get("status") == "Failed", what="timeout")
        status = hc_status(sim_cluster, KV, "team", "stuck")
        assert status["errorMessage"].startswith("timed out after 3s; Workflow stuck-")
        await eventually(lambda: not workflows(sim_cluster, "team"), what="the Workflow deleted")


async def test_finished_runs_are_deleted_after_their_ttl(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "team")
    check = kv_check("tidy", "team", {"every": "1h"})
    check["spec"]["workflow"]["ttl"] = "2s"
    create_hc(sim_cluster, check)
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, KV, "team", "tidy").get("successCount") == 1, what="success")
        assert len(workflows(sim_cluster, "team")) == 1
        await eventually(lambda: not workflows(sim_cluster, "team"), what="deleted after its ttl")
