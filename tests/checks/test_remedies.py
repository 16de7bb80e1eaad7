"""Remedies end to end: each limit honoured alone, reset after a pass, dry run, cooldown, built-in actions."""

from __future__ import annotations

from pathlib import Path

from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import checks_role, create_hc, hc, hc_status, install_crds, namespace
from .specs import am_check, kv_check, workflow_source

AM, KV = "activemonitor.keikoproj.io", "kubevigil.io"
DEPLOY = by_kind("Deployment")


def deployment(cluster: Cluster, name: str, namespace: str, replicas: int) -> None:
    cluster.store.create(DEPLOY, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "example/app:1"}]}}}})


async def test_remedy_runs_limit_alone_stops_remedies_until_a_pass(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "health")
    # active-monitor ignored remedyRunsLimit without remedyResetInterval; kubevigil honours it alone.
    create_hc(sim_cluster, am_check("limited", "health", repeat=2, scenario="workflow-fail", remedy=True,
                                    remedyRunsLimit=2))
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, AM, "health", "limited").get("failedCount", 0) >= 4,
                       timeout=90, what="four failed runs")
    status = hc_status(sim_cluster, AM, "health", "limited")
    assert status["remedyTotalRuns"] == 2 and status["remedySuccessCount"] == 2
    assert status["remedyStatus"].startswith("Skipped: remedyRunsLimit 2 reached")
    res = sim_cluster.store.resource("argoproj.io/v1alpha1", "Workflow")
    remedies = [w for w in sim_cluster.store.list(res, "health")
                if w["metadata"]["labels"].get("kubevigil.io/purpose") == "remedy"]
    assert len(remedies) == 2
    assert all(w["spec"]["serviceAccountName"] == "limited-remedy-sa" for w in remedies)


async def test_a_pass_resets_the_remedy_count(sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "shop")
    deployment(sim_cluster, "cart", "shop", 1)
    spec = kv_check("cart-ok", "shop", {"every": "2s"}, scenario="workflow-fail",
                    remedy={"runsLimit": 1, "scale": {"name": "cart", "replicas": 3}})
    create_hc(sim_cluster, spec)
    res = sim_cluster.store.resource("kubevigil.io/v1", "HealthCheck")
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, KV, "shop", "cart-ok").get("failedCount", 0) >= 2,
                       timeout=60, what="two failures")
        status = hc_status(sim_cluster, KV, "shop", "cart-ok")
        assert status["remedyTotalRuns"] == 1 and status["remedyStatus"].startswith("Skipped: remedyRunsLimit 1")
        assert sim_cluster.store.get(DEPLOY, "shop", "cart")["spec"]["replicas"] == 3
        sim_cluster.store.patch(DEPLOY, "shop", "cart", "application/merge-patch+json", {"spec": {"replicas": 1}})
        # The check passes again: the remedy count resets.
        sim_cluster.store.patch(res, "shop", "cart-ok", "application/merge-patch+json", {"spec": {"workflow": {
            "source": {"inline": workflow_source()}}}})
        await eventually(lambda: hc_status(sim_cluster, KV, "shop", "cart-ok").get("status") == "Succeeded",
                       timeout=60, what="a pass")
        status = hc_status(sim_cluster, KV, "shop", "cart-ok")
        assert status["remedyTotalRuns"] == 0 and status["remedyStatus"] == "HealthCheck Passed so Remedy is reset"
        # And it fails again: the remedy may run once more.
        sim_cluster.store.patch(res, "shop", "cart-ok", "application/merge-patch+json", {"spec": {"workflow": {
            "source": {"inline": workflow_source("workflow-fail")}}}})
        await eventually(lambda: hc_status(sim_cluster, KV, "shop", "cart-ok").get("remedyTotalRuns") == 1,
                       timeout=60, what="the remedy again")
    assert sim_cluster.store.get(DEPLOY, "shop", "cart")["spec"]["replicas"] == 3


async def test_dry_run_and_cooldown(sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "shop")
    deployment(sim_cluster, "web", "shop", 1)
    create_hc(sim_cluster, kv_check("web-ok", "shop", {"every": "2s"}, scenario="workflow-fail", remedy={
        "dryRun": True, "cooldown": "1h", "rolloutRestart": {"deployment": "web"}}))
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, KV, "shop", "web-ok").get("remedyStatus", "").startswith(
            "DryRun: would rollout-restart Deployment shop/web"), timeout=60, what="dry run recorded")
        await eventually(lambda: hc_status(sim_cluster, KV, "shop", "web-ok").get("remedyStatus", "").startswith(
            "Skipped: cooldown"), timeout=60, what="cooldown")
    template = sim_cluster.store.get(DEPLOY, "shop", "web")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" not in (template.get("metadata") or {}).get("annotations", {})
    events = [e for e in sim_cluster.store.list(by_kind("Event"), "shop")
              if e["involvedObject"]["name"] == "web-ok"]
    assert {"RunFailed", "RemedyDryRun", "RemedySkipped"} <= {e["reason"] for e in events}


async def test_rollout_restart_touches_only_the_named_deployment(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "shop")
    deployment(sim_cluster, "web", "shop", 1)
    deployment(sim_cluster, "other", "shop", 1)
    create_hc(sim_cluster, kv_check("web-up", "shop", {"every": "1h"}, scenario="workflow-fail",
                                    remedy={"rolloutRestart": {"deployment": "web"}}))
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, KV, "shop", "web-up").get("remedySuccessCount") == 1,
                       timeout=60, what="remedy ran")
    web = sim_cluster.store.get(DEPLOY, "shop", "web")["spec"]["template"]["metadata"]
    other = sim_cluster.store.get(DEPLOY, "shop", "other")["spec"]["template"]["metadata"]
    assert "kubectl.kubernetes.io/restartedAt" in web.get("annotations", {})
    assert "kubectl.kubernetes.io/restartedAt" not in (other.get("annotations") or {})
    assert hc(sim_cluster, KV, "shop", "web-up")["status"]["remedyStatus"] == "Succeeded"
