"""The status role's RBAC: list + watch on exactly the kinds configured; the shipped ClusterRole matches."""

from __future__ import annotations

from pathlib import Path

import yaml

from kubevigil.roles.status.config import StatusSection
from kubevigil.roles.status.rbac import rules

DEPLOY = Path(__file__).parents[2] / "deploy" / "roles" / "status" / "clusterrole.yaml"


def section(*targets: dict) -> StatusSection:
    return StatusSection.model_validate({"metric": {"name": "H"}, "sinks": ["cw"], "targets": list(targets)})


def test_rules_cover_exactly_the_configured_kinds() -> None:
    s = section({"kind": "Deployment", "namespace": "a", "name": "b"}, {"kind": "Node"},
                {"kind": "Job", "namespace_selector": "team=x"}, {"kind": "PersistentVolumeClaim", "selector": "a=b"})
    assert rules(s) == [
        {"apiGroups": [""], "resources": ["namespaces", "nodes", "persistentvolumeclaims"], "verbs": ["list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list", "watch"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list", "watch"]},
    ]


def test_shipped_clusterrole_is_the_kubestatus2cloudwatch_kinds() -> None:
    s = section(*({"kind": k, "namespace": "a", "name": "b", "id": k} for k in ("Deployment", "StatefulSet", "DaemonSet")))
    assert yaml.safe_load(DEPLOY.read_text())["rules"] == rules(s)
