"""The least-privilege rules the nurse needs: list and watch nurse pods and nodes (its informers' verbs only)."""

from __future__ import annotations

from typing import Any

from kubevigil.roles.nurse.config import ALL_NAMESPACES, NurseSection


def rbac(section: NurseSection) -> list[dict[str, Any]]:
    """PolicyRules for a ClusterRole. Pods are watched in one namespace unless `neighbours.namespace` is '*', so
    `pods` is a rule for a namespaced Role there (see `pod_rules_namespaced`)."""
    rules = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}]
    if section.neighbours.namespace == ALL_NAMESPACES:
        rules.insert(0, {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]})
    return rules


def pod_rules_namespaced(section: NurseSection) -> list[dict[str, Any]]:
    """The rules for a Role in the nurse pods' namespace (empty when pods are watched cluster-wide)."""
    if section.neighbours.namespace == ALL_NAMESPACES:
        return []
    return [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}]
