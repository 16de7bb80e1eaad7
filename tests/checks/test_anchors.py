"""Every active-monitor HealthCheck published upstream is accepted unchanged, applied with kubectl, run, and counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.kube.resources import by_kind
from kubevigil.roles.checks.check import InvalidSpec, StoppedSpec, from_object
from kubevigil.sim.cluster import Cluster
from tests.anchors import ANCHORS
from tests.conditions import eventually

from .harness import Requests, checks_role, kubectl, namespace, service_account_kubeconfig

AM = ANCHORS / "active-monitor"
ROOT = Path(__file__).resolve().parents[2]
HEALTHCHECKS = sorted(p for p in AM.rglob("*.yaml")
                      if yaml.safe_load(p.read_text()).get("kind") == "HealthCheck")
# The top-level files are byte-identical copies of upstream/examples ones (same names): kubectl applies upstream/.
UPSTREAM = [p for p in HEALTHCHECKS if p.is_relative_to(AM / "upstream")]


def test_every_anchor_file_is_found() -> None:
    names = {str(p.relative_to(AM)) for p in HEALTHCHECKS}
    assert "upstream/examples/inlineHello_cluster_cron_repeat.yaml" in names
    assert "upstream/examples/Remedy_Examples/inlineMemoryRemedy_limit.yaml" in names
    assert "upstream/examples/bdd/inlineCustomBackoffTest.yaml" in names
    assert len(names) == 27  # 18 upstream files + their 9 copies at the anchors' top level


@pytest.mark.parametrize("path", HEALTHCHECKS, ids=lambda p: str(p.relative_to(AM)))
def test_anchor_spec_maps_to_a_check_or_says_why(path: Path) -> None:
    obj = yaml.safe_load(path.read_text())
    obj["metadata"] = {**obj["metadata"], "name": obj["metadata"].get("name") or "x", "uid": "u1"}
    obj["metadata"].setdefault("namespace", "default")
    try:
        check = from_object(obj, default_deadline=300, default_ttl=3600)
    except StoppedSpec as exc:
        assert "repeatAfterSec or spec.schedule" in str(exc)
        return
    except InvalidSpec as exc:
        assert path.name == "activemonitor_v1alpha1_healthcheck.yaml", exc
        assert "spec.workflow.resource is required" in str(exc) and "spec.foo" in str(exc)
        return
    assert check.schedule.every or check.schedule.cron
    if "windowtimeout" in path.read_text():
        assert any("windowtimeout" in w for w in check.warnings)


async def test_every_anchor_applied_with_kubectl_runs_and_updates_status(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    # As deployed: the CRDs and kubevigil's ClusterRole from deploy/, kubevigil running with its own account's token.
    await kubectl(sim_kubeconfig, "apply", "-k", str(ROOT / "deploy/roles/checks"))
    await kubectl(sim_kubeconfig, "apply", "-f", str(ANCHORS / "argo-workflows/argoproj.io_workflows.yaml"))
    namespace(sim_cluster, "kubevigil")
    for path in UPSTREAM:
        namespace(sim_cluster, yaml.safe_load(path.read_text())["metadata"].get("namespace") or "default")
        await kubectl(sim_kubeconfig, "create", "-f", str(path))
    listed = yaml.safe_load(await kubectl(sim_kubeconfig, "get", "healthchecks.activemonitor.keikoproj.io", "-A",
                                          "-o", "yaml"))["items"]
    assert len(listed) == len(UPSTREAM)
    seen = Requests(sim_cluster, "system:serviceaccount:kubevigil:kubevigil")
    kubeconfig = service_account_kubeconfig(sim_cluster, tmp_path / "kubevigil.kubeconfig", "kubevigil", "kubevigil")
    async with checks_role(kubeconfig, {"jitter": 0}, tmp_path):

        async def settled() -> bool:
            items = yaml.safe_load(await kubectl(sim_kubeconfig, "get", "hc.activemonitor.keikoproj.io", "-A",
                                                 "-o", "yaml"))["items"]
            done = [i for i in items if (i.get("status") or {}).get("totalHealthCheckRuns")
                    or (i.get("status") or {}).get("status") in ("Stopped", "Invalid")]
            return len(done) == len(items)

        await eventually(settled, timeout=90, what="every anchor HealthCheck run or reported")
        items = yaml.safe_load(await kubectl(sim_kubeconfig, "get", "hc.activemonitor.keikoproj.io", "-A",
                                             "-o", "yaml"))["items"]
        table = await kubectl(sim_kubeconfig, "get", "hc.activemonitor.keikoproj.io", "-A")
    by_state: dict[str, list[str]] = {}
    for item in items:
        status = item["status"]
        by_state.setdefault(status["status"], []).append(item["metadata"]["name"])
        assert status["specFormat"].startswith("activemonitor.keikoproj.io/v1alpha1")
        assert status["observedGeneration"] == item["metadata"]["generation"]
        if status["status"] in ("Stopped", "Invalid"):
            assert status["errorMessage"] and not status.get("nextRunAt")
            continue
        assert status["totalHealthCheckRuns"] >= 1 and status["history"][0]["result"] == status["status"]
        assert status["nextRunAt"] and status["finishedAt"] and "lastRunDuration" in status
    assert len(by_state.pop("Stopped")) == 2  # no repeatAfterSec and no schedule, as upstream reports
    assert len(by_state.pop("Invalid")) == 1  # the kubebuilder sample has no workflow
    failed = {i["metadata"]["name"]: i["status"]["errorMessage"] for i in items if i["status"]["status"] == "Failed"}
    (url,) = [name for name in failed if name.startswith("url-hello-")]
    assert "cannot fetch workflow URL https://raw.githubusercontent.com" in failed.pop(url)
    # A check every 3 or 5 s without workflowtimeout has that interval as its deadline, which a Workflow (Pending,
    # Running, 2 s of work on the simulator's 1 s ticks) may overrun on a busy machine.
    short = {i["metadata"]["name"] for i in items if _interval(i["spec"]) < 10}
    assert set(failed) <= short, failed
    assert all(message.startswith("timed out after") for message in failed.values()), failed
    assert set(by_state) <= {"Succeeded", "Failed"}
    assert len(by_state["Succeeded"]) + len(failed) == len(items) - 4
    # Each check's run account, per its level, lists the check; events say what ran.
    store = sim_cluster.store
    for item in items:
        spec, meta = item["spec"], item["metadata"]
        if item["status"]["status"] != "Succeeded":
            continue
        sa = spec["workflow"]["resource"]["serviceAccount"]
        kind, ns, name = (("ClusterRole", None, f"{sa}-cluster-role") if spec.get("level") == "cluster"
                          else ("Role", spec["workflow"]["resource"]["namespace"], f"{sa}-ns-role"))
        users = store.get(by_kind(kind), ns, name)["metadata"]["annotations"]["kubevigil.io/healthchecks"]
        assert f"activemonitor.keikoproj.io/{meta['namespace']}/{meta['name']}" in users.split(",")
        reasons = [e["reason"] for e in store.list(by_kind("Event"), meta["namespace"])
                   if e["involvedObject"]["name"] == meta["name"]]
        assert {"RunStarted", "RunSucceeded"} <= set(reasons), (meta["name"], reasons)
    assert seen.refused == []
    header = table.splitlines()[0].split()
    assert header[:5] == ["NAMESPACE", "NAME", "STATUS", "SUCCESS", "FAIL"] and "REMEDY" in header


def _interval(spec: dict[str, Any]) -> float:
    """Seconds between runs of an active-monitor spec (repeatAfterSec or `@every Ns`); large when it has neither."""
    cron = (spec.get("schedule") or {}).get("cron") or ""
    if cron.startswith("@every ") and cron.endswith("s") and cron[7:-1].isdigit():
        return float(cron[7:-1])
    return float(spec.get("repeatAfterSec") or 3600)
