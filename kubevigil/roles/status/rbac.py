"""The least-privilege ClusterRole for a `status:` section: list and watch on exactly the kinds it targets.

The role only lists and watches (informers); it never GETs single objects or writes. Print it for a config with
`kubevigil rbac --config config.yaml`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kubevigil.kube.resources import by_kind
from kubevigil.roles.status.config import StatusSection

VERBS = ["list", "watch"]


def rules(section: StatusSection) -> list[dict[str, Any]]:
    """One rule per API group, with the plural of every kind the targets use (and namespaces for selectors)."""
    kinds: set[str] = {t.kind for t in section.targets}
    if any(t.namespace_selector for t in section.targets):
        kinds.add("Namespace")
    groups: dict[str, set[str]] = defaultdict(set)
    for kind in kinds:
        res = by_kind(kind)
        groups[res.group].add(res.plural)
    return [{"apiGroups": [g], "resources": sorted(p), "verbs": list(VERBS)} for g, p in sorted(groups.items())]

