"""Per-check RBAC: created from the spec's rules only, labelled, released by the finalizer; foreign objects untouched."""

from __future__ import annotations

from pathlib import Path

from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

from .harness import checks_role, create_hc, hc_status, install_crds, namespace
from .specs import am_check

AM = "activemonitor.keikoproj.io"
SA, CR, CRB = by_kind("ServiceAccount"), by_kind("ClusterRole"), by_kind("ClusterRoleBinding")
ROLE, RB = by_kind("Role"), by_kind("RoleBinding")
RULES = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]


async def test_finalizer_releases_created_rbac_and_never_touches_a_foreign_account(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "health")
    # An account an admin made (e.g. for IRSA): a check may run as it, kubevigil must never change or delete it.
    sim_cluster.store.create(SA, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "irsa-sa", "namespace": "health", "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}}})
    cluster_check = am_check("wide", "health", repeat=3600, level="cluster")
    cluster_check["spec"]["workflow"]["rbacRules"] = RULES
    ns_check = am_check("narrow", "health", repeat=3600)
    ns_check["spec"]["workflow"]["resource"]["serviceAccount"] = "irsa-sa"
    create_hc(sim_cluster, cluster_check)
    create_hc(sim_cluster, ns_check)
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: hc_status(sim_cluster, AM, "health", "wide").get("successCount") == 1
                       and hc_status(sim_cluster, AM, "health", "narrow").get("successCount") == 1, what="both ran")
        role = sim_cluster.store.get(CR, None, "wide-sa-cluster-role")
        assert role["rules"] == RULES  # the spec's rules, nothing else
        assert role["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubevigil"
        binding = sim_cluster.store.get(CRB, None, "wide-sa-cluster-role-binding")
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "wide-sa", "namespace": "health"}]
        sa = sim_cluster.store.get(SA, "health", "wide-sa")
        assert sa["metadata"]["ownerReferences"][0]["name"] == "wide"
        narrow_role = sim_cluster.store.get(ROLE, "health", "irsa-sa-ns-role")
        assert narrow_role["rules"] == [{"apiGroups": [""], "resources": ["pods", "pods/log"],
                                         "verbs": ["get", "list", "watch"]}]  # read-only default
        foreign = sim_cluster.store.get(SA, "health", "irsa-sa")
        assert "labels" not in foreign["metadata"] and "ownerReferences" not in foreign["metadata"]
        res = sim_cluster.store.resource("activemonitor.keikoproj.io/v1alpha1", "HealthCheck")
        for name in ("wide", "narrow"):
            sim_cluster.store.delete(res, "health", name)
        await eventually(lambda: sim_cluster.store.try_get(res, "health", "wide") is None
                       and sim_cluster.store.try_get(res, "health", "narrow") is None, what="finalized")
    for res, ns, name in ((CR, None, "wide-sa-cluster-role"), (CRB, None, "wide-sa-cluster-role-binding"),
                          (SA, "health", "wide-sa"), (ROLE, "health", "irsa-sa-ns-role"),
                          (RB, "health", "irsa-sa-ns-role-binding")):
        assert sim_cluster.store.try_get(res, ns, name) is None, f"{res.kind} {name} left behind"
    assert sim_cluster.store.get(SA, "health", "irsa-sa")["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}


async def test_a_shared_account_stays_while_another_check_uses_it(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    install_crds(sim_cluster)
    namespace(sim_cluster, "health")
    for name in ("one", "two"):
        check = am_check(name, "health", repeat=3600)
        check["spec"]["workflow"]["resource"]["serviceAccount"] = "shared-sa"
        create_hc(sim_cluster, check)
    async with checks_role(sim_kubeconfig, {"jitter": 0}, tmp_path):
        await eventually(lambda: all(hc_status(sim_cluster, AM, "health", n).get("successCount") == 1
                                   for n in ("one", "two")), what="both ran")
        res = sim_cluster.store.resource("activemonitor.keikoproj.io/v1alpha1", "HealthCheck")
        sim_cluster.store.delete(res, "health", "one")
        await eventually(lambda: sim_cluster.store.try_get(res, "health", "one") is None, what="one finalized")
    sa = sim_cluster.store.get(SA, "health", "shared-sa")
    assert sa["metadata"]["annotations"]["kubevigil.io/healthchecks"] == "activemonitor.keikoproj.io/health/two"
