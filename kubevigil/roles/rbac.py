"""The Kubernetes API access roles need, and the one ClusterRole (plus a Role per namespace) that grants a process
all of it: what `kubevigil rbac` prints and deploy/ holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# A Kubernetes PolicyRule: apiGroups, resources, verbs and, optionally, resourceNames.
PolicyRule = dict[str, list[str]]

OWN_NAMESPACE = ""  # the namespace the process runs in (the Role is applied there; kubectl -n or kustomize sets it)

# Verbs in the order Kubernetes documents them, so printed rules read as people write them.
VERB_ORDER = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")

Grant = tuple[str, str, str, str]  # (apiGroup, resource, verb, resourceName or "")


@dataclass(frozen=True)
class Access:
    """What a config section needs: cluster-wide rules, and rules for a Role in given namespaces (OWN_NAMESPACE
    for the process's own: its Lease, its checkpoint ConfigMap, pods it watches there)."""

    cluster: Sequence[PolicyRule] = ()
    namespaced: Mapping[str, Sequence[PolicyRule]] = field(default_factory=dict)


def union(accesses: Iterable[Access]) -> Access:
    """Everything any of `accesses` needs, with each permission granted once."""
    cluster: list[PolicyRule] = []
    namespaced: dict[str, list[PolicyRule]] = defaultdict(list)
    for access in accesses:
        cluster += access.cluster
        for namespace, rules in access.namespaced.items():
            namespaced[namespace] += rules
    return Access(rules_for(grants(cluster)),
                  {ns: rules_for(grants(rules)) for ns, rules in sorted(namespaced.items()) if rules})


def grants(rules: Iterable[Mapping[str, Sequence[str]]]) -> set[Grant]:
    """Each single permission the rules give (how two sets of rules are compared)."""
    out: set[Grant] = set()
    for rule in rules:
        for group in rule.get("apiGroups", ()):
            for resource in rule.get("resources", ()):
                for verb in rule.get("verbs", ()):
                    for name in rule.get("resourceNames") or ("",):
                        out.add((group, resource, verb, name))
    return out


def rules_for(granted: set[Grant]) -> list[PolicyRule]:
    """The fewest plain rules for these permissions: one per API group, set of names and set of verbs."""
    verbs: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for group, resource, verb, name in granted:
        verbs[(group, name, resource)].add(verb)
    merged: dict[tuple[str, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, name, resource), given in sorted(verbs.items()):
        merged[(group, name, _ordered(given))].append(resource)
    rules: list[PolicyRule] = []
    for (group, name, ordered), resources in sorted(merged.items(), key=lambda item: (item[0][0], item[0][1],
                                                                                      item[1])):
        rule: PolicyRule = {"apiGroups": [group], "resources": resources}
        if name:
            rule["resourceNames"] = [name]
        rule["verbs"] = list(ordered)
        rules.append(rule)
    return rules


def manifests(access: Access, name: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """A ClusterRole with the cluster-wide rules and a Role per namespace; the Role for the process's own
    namespace carries `namespace` when given, else none (kubectl -n or kustomize's `namespace:` sets it)."""
    docs: list[dict[str, Any]] = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                   "metadata": {"name": name}, "rules": list(access.cluster)}]
    for ns, rules in access.namespaced.items():
        meta: dict[str, str] = {"name": name}
        if ns or namespace:
            meta["namespace"] = ns or str(namespace)
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
                     "rules": list(rules)})
    return docs


def _ordered(verbs: set[str]) -> tuple[str, ...]:
    known = [v for v in VERB_ORDER if v in verbs]
    return (*known, *sorted(verbs - set(VERB_ORDER)))
