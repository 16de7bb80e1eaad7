"""The generated CRDs and RBAC: committed copies current, structural, accepting every anchor; `checks crd` prints them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from kubevigil.cli import _parser
from kubevigil.core.model import SecretKeyRef
from kubevigil.roles.checks import api_access
from kubevigil.roles.checks.access import rules
from kubevigil.roles.checks.config import ChecksSection
from kubevigil.roles.checks.crd import activemonitor_crd, crds, crds_yaml, kubevigil_crd
from kubevigil.roles.checks.healthcheck import Probe
from kubevigil.roles.checks.probes import PROBES
from kubevigil.roles.rbac import OWN_NAMESPACE
from tests.anchors import ANCHORS
from tests.conditions import wait_for

ROOT = Path(__file__).resolve().parents[2]
AM = ANCHORS / "active-monitor"


def test_deploy_crds_are_current() -> None:
    assert (ROOT / "deploy/crds/healthchecks.yaml").read_text() == crds_yaml(), \
        "deploy/crds/healthchecks.yaml is stale: kubevigil checks crd > deploy/crds/healthchecks.yaml"


def test_deploy_clusterrole_is_current_and_has_no_wildcard() -> None:
    role = yaml.safe_load((ROOT / "deploy/roles/checks/clusterrole.yaml").read_text())
    assert role["rules"] == rules(ChecksSection())
    for rule in role["rules"]:
        for part in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[part]
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])


def _cluster_secret_rules(section: ChecksSection) -> list[dict[str, Any]]:
    return [dict(r) for r in api_access(section).cluster if "secrets" in r["resources"]]


def test_api_token_is_read_through_a_role_on_that_secret_only() -> None:
    token = [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kv-api"], "verbs": ["get"]}]
    own = ChecksSection(api_token=SecretKeyRef(secret="kv-api"))
    assert _cluster_secret_rules(own) == []
    assert api_access(own).namespaced == {OWN_NAMESPACE: token}
    assert api_access(ChecksSection(api_token=SecretKeyRef(secret="kv-api", namespace="ops"))).namespaced == {"ops": token}
    assert api_access(ChecksSection()).namespaced == {}


def test_get_secrets_only_with_probe_secrets_enabled() -> None:
    assert _cluster_secret_rules(ChecksSection()) == []
    assert _cluster_secret_rules(ChecksSection.model_validate({"probes": {"secrets": True}})) == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]


def test_checks_crd_command_prints_both() -> None:
    args = _parser().parse_args(["checks", "crd"])  # the role's commands, added by the CLI from its spec
    out = io.StringIO()
    with redirect_stdout(out):
        assert args.func(args) == 0
    docs = list(yaml.safe_load_all(out.getvalue()))
    assert [d["metadata"]["name"] for d in docs] == ["healthchecks.activemonitor.keikoproj.io",
                                                      "healthchecks.kubevigil.io"]


def _structural_errors(node: Any, where: str = "") -> list[str]:
    """The structural-schema rules a real API server enforces that our generator could break."""
    errors = []
    if isinstance(node, dict):
        if "$ref" in node or "$defs" in node:
            errors.append(f"{where}: $ref")
        if "type" not in node and not node.get("x-kubernetes-int-or-string") \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            errors.append(f"{where}: no type")
        if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
            errors.append(f"{where}: anyOf")
        for key, value in node.get("properties", {}).items():
            errors += _structural_errors(value, f"{where}.{key}")
        if "items" in node:
            errors += _structural_errors(node["items"], f"{where}[]")
        if isinstance(node.get("additionalProperties"), dict):
            errors += _structural_errors(node["additionalProperties"], f"{where}{{}}")
    return errors


@pytest.mark.parametrize("crd", [activemonitor_crd(), kubevigil_crd()], ids=["activemonitor", "kubevigil"])
def test_schemas_are_structural_with_the_printer_columns(crd: dict[str, Any]) -> None:
    version = crd["spec"]["versions"][0]
    assert _structural_errors(version["schema"]["openAPIV3Schema"]) == []
    names = [c["name"] for c in version["additionalPrinterColumns"]]
    assert names[:6] == ["STATUS", "SUCCESS", "FAIL", "LAST RUN", "NEXT RUN", "REMEDY"]
    assert version["subresources"] == {"status": {}}


def _validator(crd: dict[str, Any]) -> jsonschema.Draft4Validator:
    """OpenAPI v3.0 schemas follow JSON Schema draft 4 (e.g. `exclusiveMinimum` is a boolean)."""
    schema = json.loads(json.dumps(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]))
    return jsonschema.Draft4Validator(schema)


@pytest.mark.parametrize("path", sorted(AM.rglob("*.yaml")), ids=lambda p: str(p.relative_to(AM)))
def test_every_anchor_healthcheck_validates_against_the_generated_schema(path: Path) -> None:
    obj = yaml.safe_load(path.read_text())
    if obj.get("kind") != "HealthCheck":
        pytest.skip("not a HealthCheck")
    errors = [e.message for e in _validator(activemonitor_crd()).iter_errors(obj)]
    assert errors == []


def test_the_kubevigil_schema_rejects_two_runners() -> None:
    bad = {"apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": "x"},
           "spec": {"schedule": {"every": "30s"}, "probe": {"http": {}, "tcp": {}}}}
    assert any("maxProperties" in str(e.validator) for e in _validator(kubevigil_crd()).iter_errors(bad))


PROBE_CHECK = {
    "apiVersion": "kubevigil.io/v1", "kind": "HealthCheck", "metadata": {"name": "checkout", "namespace": "shop"},
    "spec": {"schedule": {"every": "30s"}, "timeout": "5s", "probe": {"http": {
        "url": "https://checkout.shop.svc:8443/healthz", "status": ["2xx", 301],
        "headers": {"X-Probe": "kubevigil",
                    "Authorization": {"secret": "checkout-probe", "namespace": "shop", "key": "token",
                                      "prefix": "Bearer "}},
        "latency_budget_seconds": 0.5, "body_regex": '"status":\\s*"UP"'}}},
}


def test_probe_fields_are_the_probes_table() -> None:
    assert list(Probe.model_fields) == list(PROBES)


def test_the_generated_crds_are_valid_crd_objects() -> None:
    text = crds_yaml()
    assert "writeOnly" not in text and "readOnly" not in text  # pydantic's SecretStr schema; no CRD field
    for crd in crds():
        kubernetes_validate.validate(crd, kubernetes_validate.latest_version(), strict=True)
    http = kubevigil_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"]["probe"]["properties"]["http"]["properties"]
    assert http["latency_budget_seconds"]["exclusiveMinimum"] is True and http["latency_budget_seconds"]["minimum"] == 0
    assert http["status"]["items"] == {"x-kubernetes-int-or-string": True}
    assert http["headers"]["additionalProperties"] == {"x-kubernetes-preserve-unknown-fields": True}


def test_a_probe_check_validates_and_a_wrong_probe_does_not() -> None:
    validator = _validator(kubevigil_crd())
    assert [e.message for e in validator.iter_errors(PROBE_CHECK)] == []
    wrong = json.loads(json.dumps(PROBE_CHECK))
    wrong["spec"]["probe"]["http"]["latency_budget_seconds"] = 0
    wrong["spec"]["probe"]["http"]["method"] = "FETCH"
    del wrong["spec"]["probe"]["http"]["url"]
    messages = " ".join(e.message for e in validator.iter_errors(wrong))
    assert "'url' is a required property" in messages and "'FETCH' is not one of" in messages
    assert "less than or equal to the minimum of 0" in messages


@pytest.fixture
def sim_serve(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`kubevigil sim serve` in its own process; yields kubectl's environment for it."""
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "kubevigil.cli", "sim", "serve", "--port", "0", "--no-workloads",
                             "--kubeconfig-out", str(kubeconfig)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    (tmp_path / "home").mkdir()
    try:
        wait_for(lambda: proc.poll() is None and kubeconfig.is_file() and kubeconfig.stat().st_size, timeout=60)
        yield {"KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path / "home"), "PATH": os.environ.get("PATH", "")}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    kubectl = str(Path(sys.executable).parent / "kubectl")
    done = subprocess.run([kubectl, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_kubectl_applies_the_generated_crds_and_a_probe_check(sim_serve: dict[str, str]) -> None:
    out = _kubectl(sim_serve, "apply", "-f", str(ROOT / "deploy/crds/healthchecks.yaml"))
    assert "healthchecks.kubevigil.io created" in out and "healthchecks.activemonitor.keikoproj.io created" in out
    assert "unchanged" in _kubectl(sim_serve, "apply", "-f", "-", stdin=crds_yaml())
    stored = json.loads(_kubectl(sim_serve, "get", "crd", "healthchecks.kubevigil.io", "-o", "json"))
    assert stored["spec"]["versions"][0]["schema"] == kubevigil_crd()["spec"]["versions"][0]["schema"]
    _kubectl(sim_serve, "create", "namespace", "shop")
    assert "healthcheck.kubevigil.io/checkout created" in _kubectl(
        sim_serve, "apply", "-f", "-", stdin=yaml.safe_dump(PROBE_CHECK))
    table = _kubectl(sim_serve, "get", "khc", "-n", "shop")
    assert table.split()[:7] == ["NAME", "STATUS", "SUCCESS", "FAIL", "LAST", "RUN", "NEXT"]


def test_probe_access_shapes_kubevigils_own_rules() -> None:
    section = ChecksSection.model_validate({"probes": {"secrets": True, "resources": ["pods", "workflows.argoproj.io"]},
                                            "api_token": {"secret": "kv-api"}})
    out = rules(section)
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]} in out  # the API token has its own Role
    assert not [r for r in out if r.get("resourceNames")]
    assert {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["get", "list"]} in out
    assert not [r for r in rules(ChecksSection()) if "secrets" in r["resources"]]
