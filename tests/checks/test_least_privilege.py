"""Least privilege, proven: the checks role runs with a ServiceAccount token bound only to the ClusterRole it ships.

The emulator authorizes that token's requests with the stored RBAC objects, so any verb missing from
deploy/roles/checks/clusterrole.yaml (or from `rules(section)` for a config that turns features on) is a 403 the
test sees. Every runner kind and every remedy runs through it. The per-check RBAC it creates is checked too: a
check's ServiceAccount can do exactly its rules, and each rule is one kubevigil holds (what the API server's
escalation check requires of whoever creates a Role).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import by_kind
from kubevigil.roles.checks import api_access
from kubevigil.roles.checks.access import rules
from kubevigil.roles.checks.api import TokenSource
from kubevigil.roles.checks.check import CheckKey
from kubevigil.roles.checks.config import ChecksSection
from kubevigil.roles.checks.runs import Outcome
from kubevigil.roles.rbac import manifests
from kubevigil.sim.cluster import Cluster
from tests.anchors import ANCHORS
from tests.checks_probes.servers import serve
from tests.conditions import eventually

from .harness import (
    Requests,
    checks_role,
    create_hc,
    hc_status,
    install_crds,
    kubectl,
    namespace,
    service_account_kubeconfig,
)
from .specs import am_check, kv_check, workflow_source

ROOT = Path(__file__).resolve().parents[2]
KUBEVIGIL = "system:serviceaccount:kubevigil:kubevigil"
AM, KV = "activemonitor.keikoproj.io", "kubevigil.io"
REFUSED = "http://127.0.0.1:9/healthz"  # the discard port: nothing listens, every run fails at once
MANAGED = "app.kubernetes.io/managed-by=kubevigil"
DEPLOY_RULES = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}]
ARGO_CRD = ANCHORS / "argo-workflows/argoproj.io_workflows.yaml"


def probe_check(name: str, probe: dict[str, Any], remedy: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"schedule": {"every": "1h"}, "timeout": "10s", "probe": probe}
    if remedy is not None:
        spec["remedy"] = remedy
    return {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": name, "namespace": "team"},
            "spec": spec}


def workload(kind: str, name: str, replicas: int) -> dict[str, Any]:
    api_version = "apps/v1"
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "team"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "serviceName": name,
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def seed(cluster: Cluster) -> None:
    for ns in ("kubevigil", "team", "other"):
        namespace(cluster, ns)
    cluster.add_node("node-1")
    for kind, name, replicas in (("Deployment", "web", 1), ("Deployment", "flaky", 1), ("Deployment", "idle", 0),
                                 ("StatefulSet", "db", 0)):
        body = workload(kind, name, replicas)
        if kind == "Deployment":
            del body["spec"]["serviceName"]
        cluster.store.create(by_kind(kind), body)
    failing = kv_check("wf", "team", {"every": "1h"}, scenario="workflow-fail",
                       rbac={"level": "namespace", "rules": DEPLOY_RULES},
                       remedy={"workflow": {"source": {"inline": workflow_source()}}})
    cluster_level = am_check("wide", "team", repeat=3600, scenario="workflow-fail", remedy=True, level="cluster")
    job = {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": "job", "namespace": "team"},
           "spec": {"schedule": {"every": "1h"}, "timeout": "60s",
                    "job": {"template": {"metadata": {"annotations": {"sim.kubevigil.io/scenario": "job-fail",
                                                                      "sim.kubevigil.io/duration": "1s"}},
                                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
                    "remedy": {"job": {"template": {"metadata": {"annotations": {"sim.kubevigil.io/duration": "1s"}},
                                                    "spec": {"containers": [{"name": "fix", "image": "busybox"}]}}}}}}
    kh = {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": "kh", "namespace": "team"},
          "spec": {"schedule": {"every": "1h"}, "timeout": "60s", "kuberhealthy": {"podSpec": {
              "nodeSelector": {"nowhere": "true"},  # stays Pending: the report below is the only result
              "containers": [{"name": "check", "image": "kuberhealthy/dns-resolution-check"}]}}}}
    hang = kv_check("hang", "team", {"every": "1h"}, scenario="hang", timeout="3s")
    # The Workflow's own deadline is later than the check's, so kubevigil's deadline is what ends it.
    source = yaml.safe_load(hang["spec"]["workflow"]["source"]["inline"])
    source["spec"]["activeDeadlineSeconds"] = 3600
    hang["spec"]["workflow"]["source"]["inline"] = yaml.safe_dump(source)
    probes = [
        probe_check("web-up", {"kubernetes": {"api_version": "apps/v1", "kind": "Deployment", "namespace": "team",
                                              "name": "web", "condition": "Available"}}),
        probe_check("no-crashloop", {"kubernetes": {
            "api_version": "v1", "kind": "Pod", "objects": "none",
            "field": {"path": "status.containerStatuses[*].state.waiting.reason", "op": "==",
                      "value": "CrashLoopBackOff"}}}),
        probe_check("restart", {"http": {"url": REFUSED}}, {"rolloutRestart": {"deployment": "web"}}),
        probe_check("delete", {"http": {"url": REFUSED}}, {"deletePods": {"selector": "app=flaky"}}),
        probe_check("scale-up", {"http": {"url": REFUSED}}, {"scale": {"name": "idle", "replicas": 1}}),
        probe_check("scale-db", {"http": {"url": REFUSED}}, {"scale": {"kind": "StatefulSet", "name": "db",
                                                                        "replicas": 1}}),
        probe_check("dry", {"http": {"url": REFUSED}}, {"dryRun": True, "rolloutRestart": {"deployment": "web"}}),
    ]
    for obj in [failing, cluster_level, job, kh, hang, *probes]:
        create_hc(cluster, obj)


async def review(api: KubeApi, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
    out: dict[str, Any] = await api.request("POST", f"/apis/authorization.k8s.io/v1/{kind.lower()}s", body=body)
    return dict(out["status"])


async def kubevigil_holds(api: KubeApi, rule: dict[str, Any], namespace: str | None) -> list[str]:
    """The (verb, resource) pairs of `rule` kubevigil does not hold itself (the escalation check's question)."""
    missing = []
    for group in rule.get("apiGroups") or [""]:
        for resource in rule["resources"]:
            plural, _, sub = resource.partition("/")
            for verb in rule["verbs"]:
                attrs = {"verb": verb, "group": group, "resource": plural, "subresource": sub,
                         "namespace": namespace or ""}
                status = await review(api, "SelfSubjectAccessReview", {"resourceAttributes": attrs})
                if not status.get("allowed"):
                    missing.append(f"{verb} {resource}.{group or 'core'}")
    return missing


def granted(status: dict[str, Any]) -> set[str]:
    """A rules review's resource rules without the bootstrap ones every authenticated user holds."""
    return {json.dumps(r, sort_keys=True) for r in status["resourceRules"]
            if not set(r.get("apiGroups") or []) & {"authorization.k8s.io", "authentication.k8s.io"}}


def canonical(rules: list[dict[str, Any]]) -> set[str]:
    return {json.dumps(r, sort_keys=True) for r in rules}


def result(cluster: Cluster, group: str, name: str) -> dict[str, Any]:
    return hc_status(cluster, group, "team", name)


async def test_every_runner_and_remedy_runs_with_the_deployed_cluster_role(
        sim_cluster: Cluster, sim_kubeconfig: Path, tmp_path: Path) -> None:
    assert rules(ChecksSection.model_validate({"jitter": 0, "run_ttl": "2s"})) == rules(ChecksSection())
    await kubectl(sim_kubeconfig, "apply", "-k", str(ROOT / "deploy/roles/checks"))
    await kubectl(sim_kubeconfig, "apply", "-f", str(ARGO_CRD))
    seed(sim_cluster)
    store = sim_cluster.store

    def available(name: str) -> bool:
        conditions = (store.get(by_kind("Deployment"), "team", name).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Available" and c["status"] == "True" for c in conditions)

    await eventually(lambda: available("web") and available("flaky"), what="web and flaky available")
    seen = Requests(sim_cluster, KUBEVIGIL)
    kubeconfig = service_account_kubeconfig(sim_cluster, tmp_path / "kubevigil.kubeconfig", "kubevigil", "kubevigil")
    flaky_pods = {p["metadata"]["name"] for p in sim_cluster.store.list(by_kind("Pod"), "team")
                  if p["metadata"]["labels"].get("app") == "flaky"}
    async with checks_role(kubeconfig, {"jitter": 0, "run_ttl": "2s"}, tmp_path) as running:
        kh_run = await eventually(lambda: result(sim_cluster, KV, "kh").get("currentRun"), what="the kuberhealthy run")
        running.role.accept_report(CheckKey(KV, "team", "kh"), kh_run["uuid"], Outcome(True, ""))  # as POST /check

        def done(group: str, name: str, **want: Any) -> bool:
            status = result(sim_cluster, group, name)
            return all(str(status.get(k, "")).startswith(str(v)) for k, v in want.items())

        expected = [
            (KV, "wf", {"status": "Failed", "remedySuccessCount": 1}),
            (AM, "wide", {"status": "Failed", "remedySuccessCount": 1}),
            (KV, "job", {"status": "Failed", "remedySuccessCount": 1}),
            (KV, "kh", {"status": "Succeeded"}),
            (KV, "hang", {"status": "Failed", "errorMessage": "timed out after 3s; Workflow"}),
            (KV, "web-up", {"status": "Succeeded"}),
            (KV, "no-crashloop", {"status": "Succeeded"}),
            (KV, "restart", {"remedyStatus": "Succeeded"}),
            (KV, "delete", {"remedyStatus": "Succeeded"}),
            (KV, "scale-up", {"remedyStatus": "Succeeded"}),
            (KV, "scale-db", {"remedyStatus": "Succeeded"}),
            (KV, "dry", {"remedyStatus": "DryRun: would rollout-restart"}),
        ]
        await eventually(lambda: all(done(g, n, **w) for g, n, w in expected), timeout=120,
                         what="every runner and remedy", state=lambda: "; ".join(
                             f"{n}={result(sim_cluster, g, n)}" for g, n, w in expected if not done(g, n, **w)))

        web_dep = store.get(by_kind("Deployment"), "team", "web")
        assert "kubectl.kubernetes.io/restartedAt" in web_dep["spec"]["template"]["metadata"]["annotations"]
        assert store.get(by_kind("Deployment"), "team", "idle")["spec"]["replicas"] == 1
        assert store.get(by_kind("StatefulSet"), "team", "db")["spec"]["replicas"] == 1
        pods_now = {p["metadata"]["name"] for p in store.list(by_kind("Pod"), "team")}
        assert flaky_pods and not flaky_pods & pods_now, "deletePods left the matching pods"

        # Run now by annotation: kubevigil patches it away and runs once more.
        store.patch(store.resource("kubevigil.io/v1", "HealthCheck"), "team", "web-up", "application/merge-patch+json",
                    {"metadata": {"annotations": {"kubevigil.io/run-now": "x"}}})
        await eventually(lambda: result(sim_cluster, KV, "web-up").get("successCount") == 2, what="run now")

        # Finished runs are deleted after run_ttl; the timed-out and the reported ones at once.
        def runs_left() -> list[str]:
            return [f"{kind}/{o['metadata']['name']}" for kind, res in (
                ("Workflow", store.resource("argoproj.io/v1alpha1", "Workflow")), ("Job", by_kind("Job")))
                for o in store.list(res, label_selector=MANAGED)]

        await eventually(lambda: not runs_left(), what="finished runs deleted")

        # The per-check RBAC: each rule is one kubevigil holds; a check's account can do exactly its rules.
        for kind, ns in (("Role", "team"), ("ClusterRole", None)):
            for role in store.list(by_kind(kind), ns, label_selector=MANAGED):
                for rule in role["rules"]:
                    assert await kubevigil_holds(running.api, rule, ns or "team") == [], role["metadata"]["name"]
        narrow = await connect(str(service_account_kubeconfig(sim_cluster, tmp_path / "wf.kubeconfig", "team",
                                                              "wf-check")))
        wide = await connect(str(service_account_kubeconfig(sim_cluster, tmp_path / "wide.kubeconfig", "team",
                                                            "wide-sa")))
        try:
            assert granted(await review(narrow, "SelfSubjectRulesReview", {"namespace": "team"})) == \
                canonical(DEPLOY_RULES)
            assert granted(await review(narrow, "SelfSubjectRulesReview", {"namespace": "other"})) == set()
            await narrow.list(by_kind("Deployment"), "team")
            for ns, res in (("other", by_kind("Deployment")), ("team", by_kind("Secret")), ("team", by_kind("Pod"))):
                try:
                    await narrow.list(res, ns)
                    raise AssertionError(f"wf-check could list {res.plural} in {ns}")
                except ApiError as exc:
                    assert exc.status == 403
            default = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                       {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]
            assert granted(await review(wide, "SelfSubjectRulesReview", {"namespace": "other"})) == canonical(default)
        finally:
            await narrow.aclose()
            await wide.aclose()

        # Deleting the checks releases what was created for them (finalizer, with kubevigil's token).
        for group, name, _ in expected:
            version = "v1alpha1" if group == AM else "v1"
            store.delete(store.resource(f"{group}/{version}", "HealthCheck"), "team", name)
        await eventually(lambda: not any(store.list(by_kind(k), label_selector=MANAGED) for k in (
            "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")), what="RBAC released")
    assert seen.refused == []
    assert seen.of("create", "jobs") and seen.of("create", "workflows") and seen.of("patch", "deployments")


def grant(cluster: Cluster, section: ChecksSection) -> None:
    """Bind kubevigil's ServiceAccount to what `kubevigil rbac` prints for `section`: the ClusterRole and any Role."""
    store = cluster.store
    for doc in manifests(api_access(section), "kubevigil-checks", namespace="kubevigil"):
        store.create(by_kind(doc["kind"]), doc)
        meta = doc["metadata"]
        store.create(by_kind(f"{doc['kind']}Binding"), {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": f"{doc['kind']}Binding", "metadata": dict(meta),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": doc["kind"], "name": meta["name"]},
            "subjects": [{"kind": "ServiceAccount", "name": "kubevigil", "namespace": "kubevigil"}]})


@pytest.mark.parametrize("probe_secrets", [True, False], ids=["probe-secrets-on", "probe-secrets-off"])
async def test_secret_headers_and_the_api_token_with_the_rules_their_config_prints(
        sim_cluster: Cluster, tmp_path: Path, probe_secrets: bool) -> None:
    section = {"jitter": 0, "probes": {"secrets": probe_secrets},
               "api_token": {"secret": "kv-api", "namespace": "kubevigil"}}
    install_crds(sim_cluster, argo=False)
    for ns in ("kubevigil", "team", "other"):
        namespace(sim_cluster, ns)
    store = sim_cluster.store
    grant(sim_cluster, ChecksSection.model_validate(section))
    for ns, name, key, value in (("team", "probe-token", "token", "t0ken"), ("other", "theirs", "token", "x"),
                                 ("kubevigil", "kv-api", "token", "api-s3cret")):
        store.create(by_kind("Secret"), {"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": name, "namespace": ns}, "data": {key: base64.b64encode(value.encode()).decode()}})

    async def private(request: web.Request) -> web.Response:
        return web.Response(status=200 if request.headers.get("Authorization") == "Bearer t0ken" else 401)

    app = web.Application()
    app.add_routes([web.get("/private", private)])
    seen = Requests(sim_cluster, KUBEVIGIL)
    kubeconfig = service_account_kubeconfig(sim_cluster, tmp_path / "kubevigil.kubeconfig", "kubevigil", "kubevigil")
    own_status = "Succeeded" if probe_secrets else "Invalid"
    async with serve(app) as url:
        create_hc(sim_cluster, probe_check("own", {"http": {"url": f"{url}/private", "headers": {"Authorization": {
            "secret": "probe-token", "namespace": "team", "key": "token", "prefix": "Bearer "}}}}))
        create_hc(sim_cluster, probe_check("theirs", {"http": {"url": f"{url}/private", "headers": {"Authorization": {
            "secret": "theirs", "namespace": "other", "key": "token"}}}}))
        async with checks_role(kubeconfig, section, tmp_path) as running:
            await eventually(lambda: result(sim_cluster, KV, "own").get("status") == own_status, what="own secret")
            await eventually(lambda: result(sim_cluster, KV, "theirs").get("status") == "Invalid", what="refused")
            assert await TokenSource(running.role).get() == "api-s3cret"
            # Beyond the token's one name, kubevigil can read Secrets only when the config turned that on.
            team = await review(running.api, "SelfSubjectAccessReview", {"resourceAttributes": {
                "verb": "get", "resource": "secrets", "namespace": "team", "name": "probe-token"}})
            assert bool(team.get("allowed")) is probe_secrets
    refused = {"own": result(sim_cluster, KV, "own"), "theirs": result(sim_cluster, KV, "theirs")}
    if probe_secrets:
        assert "outside this HealthCheck's namespace team" in refused["theirs"]["errorMessage"]
    else:
        for status in refused.values():
            assert "probes may not read Secrets here (checks.probes.secrets is off" in status["errorMessage"]
    for name in [n for n, st in refused.items() if st["status"] == "Invalid"]:
        reasons = [e["reason"] for e in store.list(by_kind("Event"), "team") if e["involvedObject"]["name"] == name]
        assert "InvalidSpec" in reasons, (name, reasons)
    assert seen.refused == []
    read = {(a.namespace, a.name) for a in seen.of("get", "secrets")}
    assert read == ({("team", "probe-token"), ("kubevigil", "kv-api")} if probe_secrets else {("kubevigil", "kv-api")})
