"""The generated CRDs and RBAC: committed copies current, structural, accepting every anchor; `checks crd` prints them."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kubevigil.cli import _parser
from kubevigil.roles.checks.access import rules
from kubevigil.roles.checks.config import ApiToken, ChecksSection
from kubevigil.roles.checks.crd import activemonitor_crd, crds_yaml, kubevigil_crd
from tests.anchors import ANCHORS

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


def test_api_token_adds_get_on_that_secret_only() -> None:
    extra = [r for r in rules(ChecksSection(api_token=ApiToken(secret="kv-api"))) if "secrets" in r["resources"]]
    assert extra == [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kv-api"], "verbs": ["get"]}]


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


def _validator(crd: dict[str, Any]) -> jsonschema.Draft7Validator:
    schema = json.loads(json.dumps(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]))
    return jsonschema.Draft7Validator(schema)


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
