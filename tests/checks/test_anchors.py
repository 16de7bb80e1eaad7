"""Every active-monitor HealthCheck published upstream is accepted unchanged, applied with kubectl, run, and counted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubevigil.roles.checks.check import InvalidSpec, StoppedSpec, from_object
from kubevigil.sim.cluster import Cluster
from tests.anchors import ANCHORS
from tests.conditions import eventually

from .harness import checks_role, install_crds, kubectl, namespace

AM = ANCHORS / "active-monitor"
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
    install_crds(sim_cluster)
    for path in UPSTREAM:
        namespace(sim_cluster, yaml.safe_load(path.read_text())["metadata"].get("namespace") or "default")
        await kubectl(sim_kubeconfig, "create", "-f", str(path))
    listed = yaml.safe_load(await kubectl(sim_kubeconfig, "get", "healthchecks.activemonitor.keikoproj.io", "-A",
                                    "-o", "yaml"))["items"]
    assert len(listed) == len(UPSTREAM)
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):

        async def settled() -> bool:
            items = yaml.safe_load(await kubectl(sim_kubeconfig, "get", "hc.activemonitor.keikoproj.io", "-A",
                                           "-o", "yaml"))["items"]
            done = [i for i in items if (i.get("status") or {}).get("totalHealthCheckRuns")
                    or (i.get("status") or {}).get("status") in ("Stopped", "Invalid")]
            return len(done) == len(items)

        await eventually(settled, timeout=90, what="every anchor HealthCheck run or reported")
        items = yaml.safe_load(await kubectl(sim_kubeconfig, "get", "hc.activemonitor.keikoproj.io", "-A",
                                       "-o", "yaml"))["items"]
        by_state: dict[str, list[str]] = {}
        for item in items:
            by_state.setdefault(item["status"]["status"], []).append(item["metadata"]["name"])
            assert item["status"]["specFormat"].startswith("activemonitor.keikoproj.io/v1alpha1")
        assert len(by_state.get("Stopped", [])) == 2  # no repeatAfterSec and no schedule, as upstream reports
        assert len(by_state.get("Invalid", [])) == 1  # the kubebuilder sample has no workflow
        url = next(i for i in items if i["metadata"]["name"].startswith("url-hello-"))
        assert url["status"]["status"] == "Failed"  # tests never leave loopback: the URL cannot be fetched
        assert "cannot fetch workflow URL https://raw.githubusercontent.com" in url["status"]["errorMessage"]
        table = await kubectl(sim_kubeconfig, "get", "hc.activemonitor.keikoproj.io", "-A")
        header = table.splitlines()[0].split()
        assert header[:5] == ["NAMESPACE", "NAME", "STATUS", "SUCCESS", "FAIL"] and "REMEDY" in header
