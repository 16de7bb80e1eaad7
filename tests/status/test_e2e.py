"""The status role end to end: emulator (HTTPS on 127.0.0.1) -> informers -> role -> delivery -> moto CloudWatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import datapoints, deployment, heartbeat, namespace, seed

DEPLOY = by_kind("Deployment")


def all_healthy(role: Any) -> bool:
    """Every target healthy and that verdict published (new Deployments start out as rolling out)."""
    return all(t["state"] == "healthy" for t in role.status()["targets"]) and role.published_value == 1


def target_of(role: Any, key: str) -> dict[str, Any]:
    return next(t for t in role.status()["targets"] if t["id"] == key)


async def test_healthy_workloads_publish_1(sim_cluster: Cluster, sim_kubeconfig: Path, aws_env: str,
                                           tmp_path: Path) -> None:
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("shop"), deployment("web", "shop", 2), deployment("api", "shop", 1))
    section = {"seconds": 1, "metric": {"name": "Healthy"}, "targets": [
        {"kind": "Deployment", "namespace": "shop", "name": "web"},
        {"kind": "Deployment", "namespace": "shop", "selector": "app=api", "mode": "AtLeastOne"},
        {"kind": "Node"},
    ]}
    async with heartbeat(sim_kubeconfig, section, aws_env, tmp_path) as hb:
        # New Deployments count as rolling out until the controller has observed them; then they become ready.
        await eventually(lambda: all(t["state"] == "healthy" for t in hb.role.status()["targets"]), what="all healthy")
        await eventually(lambda: hb.role.published_value == 1, what="heartbeat 1")
        points = await eventually(lambda: [p for p in datapoints(aws_env, "Healthy", {"Cluster": "test"})
                                         if p["Minimum"] == 1.0], what="datapoint 1 in CloudWatch")
        assert points[-1]["Maximum"] == 1.0
        # The same values as Prometheus gauges on the process registry (/metrics).
        assert hb.registry.get_sample_value("kubevigil_status_healthy") == 1.0
        assert hb.registry.get_sample_value("kubevigil_status_target_healthy", {"target": "Node/*"}) == 1.0


async def test_first_value_at_once_and_not_found(sim_cluster: Cluster, sim_kubeconfig: Path, aws_env: str,
                                                 tmp_path: Path) -> None:
    seed(sim_cluster.store, namespace("shop"))
    section = {"seconds": 3600, "metric": {"name": "Missing"},
               "targets": [{"kind": "StatefulSet", "namespace": "shop", "name": "db"}]}
    async with heartbeat(sim_kubeconfig, section, aws_env, tmp_path) as hb:
        # A one-hour interval: the only value that can appear is the one published at start.
        await eventually(lambda: datapoints(aws_env, "Missing", {"Cluster": "test"}), what="first value")
        assert hb.role.published_value == 0
        assert target_of(hb.role, "StatefulSet/shop/db")["reason"] == "not found"


async def test_scale_up_with_never_ready_pods_drops_to_0(sim_cluster: Cluster, sim_kubeconfig: Path,
                                                         aws_env: str, tmp_path: Path) -> None:
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("shop"), deployment("cart", "shop", 2))
    section = {"seconds": 1, "metric": {"name": "ScaleUp"}, "per_target": True,
               "targets": [{"kind": "Deployment", "namespace": "shop", "name": "cart"}]}
    async with heartbeat(sim_kubeconfig, section, aws_env, tmp_path) as hb:
        await eventually(lambda: all_healthy(hb.role), what="healthy before the scale-up")
        # New pods read the scenario when they start; the two running pods stay ready.
        sim_cluster.store.patch(DEPLOY, "shop", "cart", "application/merge-patch+json", {
            "metadata": {"annotations": {"sim.kubevigil.io/scenario": "unready"}}, "spec": {"replicas": 4}})
        published = hb.role.publishes
        await eventually(lambda: hb.role.published_value == 0, timeout=5, what="heartbeat 0 after scale-up")
        assert hb.role.publishes - published <= 3  # within about one interval (1 s) of the pods being created
        t = target_of(hb.role, "Deployment/shop/cart")
        assert t["state"] == "unhealthy" and t["reason"] == "2 of 4 replicas available, AllOfThem needs 4"
        await eventually(lambda: any(p["Minimum"] == 0.0 for p in datapoints(
            aws_env, "ScaleUp", {"Cluster": "test", "target": "Deployment/shop/cart"})), what="per-target 0")


async def test_rollout_counts_per_during_rollout(sim_cluster: Cluster, sim_kubeconfig: Path, aws_env: str,
                                                 tmp_path: Path) -> None:
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("shop"), deployment("a", "shop", 2), deployment("b", "shop", 2))
    section = {"seconds": 1, "metric": {"name": "Rollout"}, "publish_on_change": True, "targets": [
        {"kind": "Deployment", "namespace": "shop", "name": "a", "during_rollout": "healthy", "id": "a"},
        {"kind": "Deployment", "namespace": "shop", "name": "b", "during_rollout": "unhealthy", "id": "b"},
    ]}
    async with heartbeat(sim_kubeconfig, section, aws_env, tmp_path) as hb:
        await eventually(lambda: all_healthy(hb.role), what="healthy before the rollout")
        for name in ("a", "b"):
            # A template change whose new pods become ready only after 30 s: a rollout that stays in progress.
            sim_cluster.store.patch(DEPLOY, "shop", name, "application/merge-patch+json", {
                "metadata": {"annotations": {"sim.kubevigil.io/ready-after": "30s"}},
                "spec": {"template": {"metadata": {"annotations": {"rev": "2"}}}}})
        await eventually(lambda: target_of(hb.role, "a")["state"] == "progressing"
                       and target_of(hb.role, "b")["state"] == "progressing", what="both rolling out")
        assert target_of(hb.role, "a")["value"] == 1
        assert target_of(hb.role, "b")["value"] == 0
        await eventually(lambda: hb.role.published_value == 0, what="b's rollout counted unhealthy")


async def test_deleted_target_is_not_found(sim_cluster: Cluster, sim_kubeconfig: Path, aws_env: str,
                                           tmp_path: Path) -> None:
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("shop"), deployment("gone", "shop", 1))
    section = {"seconds": 1, "metric": {"name": "Deleted"},
               "targets": [{"kind": "Deployment", "namespace": "shop", "name": "gone"}]}
    async with heartbeat(sim_kubeconfig, section, aws_env, tmp_path) as hb:
        await eventually(lambda: all_healthy(hb.role), what="healthy before the delete")
        sim_cluster.store.delete(DEPLOY, "shop", "gone")
        await eventually(lambda: hb.role.published_value == 0, timeout=5, what="0 after delete")
        assert target_of(hb.role, "Deployment/shop/gone")["reason"] == "not found"
        await eventually(lambda: any(p["Minimum"] == 0.0 for p in datapoints(aws_env, "Deleted", {"Cluster": "test"})),
                       what="0 in CloudWatch")


async def test_namespace_selector_follows_namespace_labels(sim_cluster: Cluster, sim_kubeconfig: Path,
                                                           aws_env: str, tmp_path: Path) -> None:
    sim_cluster.add_node("node-1")
    seed(sim_cluster.store, namespace("team-a", {"team": "a"}), namespace("team-b", {"team": "b"}),
         deployment("ok", "team-a", 1), deployment("broken", "team-b", 1, {"sim.kubevigil.io/scenario": "crashloop"}))
    section = {"seconds": 1, "metric": {"name": "NsSel"}, "publish_on_change": True,
               "targets": [{"kind": "Deployment", "namespace_selector": "team=a", "id": "team-a"}]}
    async with heartbeat(sim_kubeconfig, section, aws_env, tmp_path) as hb:
        await eventually(lambda: all_healthy(hb.role), what="team a healthy")
        assert target_of(hb.role, "team-a")["objects"] == 1
        sim_cluster.store.patch(by_kind("Namespace"), None, "team-b", "application/merge-patch+json",
                                {"metadata": {"labels": {"team": "a"}}})
        await eventually(lambda: hb.role.published_value == 0, what="crashlooping deployment now included")
        assert "team-b/broken" in target_of(hb.role, "team-a")["reason"]


async def test_interval_runs_on_the_clock(sim_cluster: Cluster, sim_kubeconfig: Path, aws_env: str,
                                          tmp_path: Path) -> None:
    from kubevigil.core.clock import ManualClock

    clock = ManualClock()
    seed(sim_cluster.store, namespace("shop"))
    section = {"seconds": 60, "metric": {"name": "Clocked"},
               "targets": [{"kind": "Deployment", "namespace": "shop", "name": "web"}]}
    async with heartbeat(sim_kubeconfig, section, aws_env, tmp_path, role_clock=clock) as hb:
        await eventually(lambda: hb.role.publishes == 1, what="the value at start")
        first = hb.role.published_at
        for n in (2, 3):
            await clock.advance(60)
            await eventually(lambda n=n: hb.role.publishes == n, what=f"publish {n} after 60 s on the clock")
        assert hb.role.published_at == first + 120  # timestamps come from the clock, one per interval
